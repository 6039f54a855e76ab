"""Payload data for groups 12 and 13 (permessage-deflate).

Autobahn|Testsuite ships five files (a JSON file, a bitmap picture, a German book from
Project Gutenberg, an HTML page and a PDF paper). We do not copy them: each data set here
is generated from a fixed seed, with the same kind of content and about the same size, so
that runs are reproducible and the compressibility is of the same order:

  json    text   ~190 KB  records with numbers, names (some non-ASCII), nested lists
  bitmap  binary ~263 KB  a 512x512 8-bit grey-scale BMP: gradients, discs, stripes, noise
  prose   binary ~220 KB  German-looking verse and prose in UTF-8 (sent as binary, as in
                          Autobahn's 12.3)
  html    text   ~260 KB  an HTML page with tables, lists, links and inline styles
  pdf     binary ~1 MB    a PDF-like file: text objects between DEFLATE-compressed
                          (incompressible) streams

Text data sets are sliced by code points, so that every message is valid UTF-8; the
message length is then counted in code points, as in Autobahn.
"""

import random
import struct
import zlib

_CACHE = {}

DATASETS = {
    # key: (description, binary)
    "json": ("JSON data (generated records)", False),
    "bitmap": ("Bitmap picture, 512x512 grey-scale (generated)", True),
    "prose": ("Human readable text, German (generated)", True),
    "html": ("HTML page (generated)", False),
    "pdf": ("PDF-like document with compressed streams (generated)", True),
}
ORDER = ["json", "bitmap", "prose", "html", "pdf"]     # Autobahn's order: json, lena, faust, html, pdf

_FIRST = ["Anna", "Jürgen", "Zoë", "Łukasz", "Søren", "Marie", "José", "Chloé", "Ólafur", "Miloš", "Ana",
          "François", "Björn", "Ἀλέξανδρος", "Сергей", "美咲", "Kai", "Noémie", "Ömer", "Ayşe"]
_LAST = ["Müller", "Schmidt", "Dvořák", "García", "Nakamura", "O'Brien", "Kowalski", "Larsen", "Ibáñez",
         "Petrović", "Weiß", "Nguyễn", "Fischer", "Rossi", "Öztürk", "Иванов", "Haraldsdóttir"]
_TAGS = ["alpha", "beta", "gamma", "delta", "websocket", "deflate", "rfc7692", "zlib", "window", "frame",
         "message", "context", "takeover", "echo", "server", "client", "ünïcödé", "naïve", "€uro"]
_WORDS = ("der die das und ist nicht ich du er sie es wir ihr ein eine mit auf für von zu im am "
          "Geist Welt Herz Nacht Licht Himmel Erde Seele Traum Zeit Leben Liebe Gott Teufel "
          "Wissenschaft Buch Kraft Natur Mensch Freude Schmerz Wahrheit Schönheit Hölle Höhe "
          "glühend müde süß schön früh spät über fürwahr möchte könnte würde dürfte hätte wäre "
          "Straße Gefühl Mädchen Bürger Mühe Glück Schlüssel Vögel Blüte Gespräch Äther Übermut "
          "heißt weiß groß Fuß Maß schließlich gießen draußen Grüße ach oh wohl doch noch schon "
          "wandeln streben sehnen finden suchen irren wissen glauben lieben hassen singen klingen").split()


def _json(rng, target):
    out = ["[\n"]
    size = 2
    i = 0
    while size < target:
        name = "%s %s" % (rng.choice(_FIRST), rng.choice(_LAST))
        rec = ('  {"id": %d, "guid": "%08x-%04x-%04x", "name": "%s", "email": "%s@example.org", '
               '"active": %s, "balance": %.2f, "age": %d, "lat": %.6f, "lon": %.6f, '
               '"tags": [%s], "friends": [%s], "note": "%s"}' % (
                   i, rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16), name,
                   name.split()[0].lower().encode("ascii", "ignore").decode() or "user%d" % i,
                   "true" if rng.random() < 0.5 else "false", rng.uniform(0, 10000), rng.randint(18, 90),
                   rng.uniform(-90, 90), rng.uniform(-180, 180),
                   ", ".join('"%s"' % rng.choice(_TAGS) for _ in range(rng.randint(1, 6))),
                   ", ".join('{"id": %d, "name": "%s"}' % (rng.randint(0, 5000), rng.choice(_FIRST))
                             for _ in range(rng.randint(0, 3))),
                   " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14)))))
        piece = rec + ",\n"
        out.append(piece)
        size += len(piece.encode("utf-8"))
        i += 1
    out[-1] = out[-1].rstrip(",\n") + "\n]\n"
    return "".join(out)


def _bitmap(rng):
    w = h = 512
    hdr_len = 14 + 40 + 256 * 4
    img = bytearray(w * h)
    discs = [(rng.randrange(w), rng.randrange(h), rng.randrange(20, 120), rng.randrange(256)) for _ in range(12)]
    for y in range(h):
        row = y * w
        for x in range(w):
            v = (x * 3 + y) // 4 & 0xFF
            if (x // 32 + y // 48) % 5 == 0:
                v = (v + 80) & 0xFF
            img[row + x] = v
    for cx, cy, r, shade in discs:
        r2 = r * r
        for y in range(max(0, cy - r), min(h, cy + r)):
            dy = (y - cy) ** 2
            row = y * w
            for x in range(max(0, cx - r), min(w, cx + r)):
                if (x - cx) ** 2 + dy <= r2:
                    img[row + x] = (shade + ((x + y) & 7)) & 0xFF
    noise = rng.randbytes(w * h)
    for i in range(0, w * h):
        img[i] = (img[i] + (noise[i] & 7) - 3) & 0xFF
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, w * h, 2835, 2835, 256, 0)
    filehdr = b"BM" + struct.pack("<IHHI", hdr_len + w * h, 0, 0, hdr_len)
    return filehdr + info + palette + bytes(img)


def _prose(rng, target):
    out = []
    size = 0
    act = 0
    while size < target:
        act += 1
        lines = ["", "%s. SZENE" % ("IVX"[act % 3] * (1 + act % 3)), ""]
        for _ in range(rng.randint(20, 60)):
            if rng.random() < 0.15:
                lines.append(rng.choice(["FAUST:", "MEPHISTOPHELES:", "GRETCHEN:", "WAGNER:", "MARTHE:", "CHOR:"]))
            words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 11))]
            words[0] = words[0][:1].upper() + words[0][1:]
            line = " ".join(words) + rng.choice([",", ".", "!", "?", ";", ""])
            lines.append(("    " if rng.random() < 0.7 else "") + line)
        text = "\r\n".join(lines) + "\r\n"
        out.append(text)
        size += len(text.encode("utf-8"))
    return "".join(out).encode("utf-8")


def _html(rng, target):
    out = ['<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n<title>Übersicht – Daten</title>\n'
           '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid '
           '#ccc;padding:4px 8px}.odd{background:#f4f4f4}</style>\n</head>\n<body>\n']
    size = len(out[0])
    sec = 0
    while size < target:
        sec += 1
        parts = ['<h2 id="s%d">Abschnitt %d: %s</h2>\n<p>%s</p>\n' % (
            sec, sec, rng.choice(_WORDS).capitalize(), " ".join(rng.choice(_WORDS) for _ in range(rng.randint(30, 90))))]
        parts.append('<table class="data">\n<tr><th>#</th><th>Name</th><th>Wert</th><th>Stichwort</th></tr>\n')
        for r in range(rng.randint(5, 25)):
            parts.append('<tr class="%s"><td>%d</td><td><a href="/person/%d">%s %s</a></td><td>%.3f</td>'
                         '<td><span style="color:#%06x">%s</span></td></tr>\n' % (
                             "odd" if r % 2 else "even", r, rng.randint(1, 99999), rng.choice(_FIRST),
                             rng.choice(_LAST), rng.uniform(-1000, 1000), rng.getrandbits(24), rng.choice(_TAGS)))
        parts.append("</table>\n<ul>\n")
        for _ in range(rng.randint(2, 8)):
            parts.append('  <li><a href="#s%d">%s</a> &ndash; %s</li>\n' % (
                rng.randint(1, sec), rng.choice(_WORDS), " ".join(rng.choice(_WORDS) for _ in range(6))))
        parts.append("</ul>\n")
        piece = "".join(parts)
        out.append(piece)
        size += len(piece.encode("utf-8"))
    out.append("</body>\n</html>\n")
    return "".join(out)


def _pdf(rng, target):
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    size = len(out[0])
    obj = 0
    while size < target:
        obj += 1
        if rng.random() < 0.45:
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 200))).encode("utf-8")
            content = b"BT /F1 10 Tf 72 %d Td (%s) Tj ET\n" % (rng.randint(50, 750), text)
            piece = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (obj, len(content), content)
        else:
            raw = bytes((rng.randrange(256) & 0xF0) | (i & 0x0F) for i in range(rng.randint(2000, 12000)))
            comp = zlib.compress(raw, 9)
            piece = (b"%d 0 obj\n<< /Length %d /Filter /FlateDecode /Type /XObject /Subtype /Image >>\n"
                     b"stream\n%s\nendstream\nendobj\n" % (obj, len(comp), comp))
        out.append(piece)
        size += len(piece)
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\n%%%%EOF\n" % (obj + 1))
    return b"".join(out)


def dataset(key):
    """The data set as bytes (binary sets) or str (text sets)."""
    if key not in _CACHE:
        rng = random.Random("uvws-conformance-" + key)
        if key == "json":
            v = _json(rng, 194000)
        elif key == "bitmap":
            v = _bitmap(rng)
        elif key == "prose":
            v = _prose(rng, 222000)
        elif key == "html":
            v = _html(rng, 263000)
        elif key == "pdf":
            v = _pdf(rng, 1040000)
        else:
            raise KeyError(key)
        _CACHE[key] = v
    return _CACHE[key]


def size_of(key):
    v = dataset(key)
    return len(v.encode("utf-8")) if isinstance(v, str) else len(v)


class Cursor:
    """Hands out consecutive slices of `length` units, wrapping around the end, like Autobahn."""

    def __init__(self, key, length):
        self.data = dataset(key)
        self.binary = DATASETS[key][1]
        self.length = length
        self.pos = 0

    def next(self):
        d, n = self.data, self.length
        if n <= 0:
            return b""
        a = self.pos
        b = (a + n) % len(d)
        msg = d[a:b] if b > a else d[a:] + d[:b]
        self.pos = b
        return msg if self.binary else msg.encode("utf-8")
