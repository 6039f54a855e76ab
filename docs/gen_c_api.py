#!/usr/bin/env python3
"""Generate docs/c-api.md from the comments in core/include/uvws.h.

The header is the source of truth: every declaration there has the comment
that describes it right above it. This script keeps the section banners,
pairs each comment with the declaration that follows it, and writes Markdown.
`python3 docs/gen_c_api.py --check` exits 1 if docs/c-api.md is stale (the
test command runs that).
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "core/include/uvws.h"
OUT = ROOT / "docs/c-api.md"


def clean_comment(text):
    body = text.strip()[2:-2]
    lines = [re.sub(r"^\s*\* ?", "", l) for l in body.splitlines()]
    return "\n".join(lines).strip()


def render():
    src = HEADER.read_text()
    # Drop the include guard, the extern "C" blocks and the export macro.
    out = ["# uvws C API reference", "",
           "Generated from [`core/include/uvws.h`](../core/include/uvws.h) by "
           "`docs/gen_c_api.py`; the header is the source of truth.", ""]
    tokens = re.finditer(r"(/\*.*?\*/)|(^[^\n]*$)", src, re.S | re.M)
    pending = None
    decl = []
    first_comment = True
    depth = 0
    in_macro = False

    def flush_decl():
        nonlocal decl, pending
        text = "\n".join(decl).strip()
        decl = []
        if not text:
            return
        text = text.replace("UVWS_EXTERN ", "")
        if pending is not None:
            out.append(pending)
            out.append("")
        out.append("```c")
        out.append(text)
        out.append("```")
        out.append("")
        pending = None

    for m in tokens:
        if m.group(1):
            c = m.group(1)
            if depth == 0 and decl and not decl[-1].rstrip().endswith((";", "}", "{", ",")):
                decl.append(c)  # trailing comment inside a declaration
                continue
            if depth > 0:
                decl.append(c)
                continue
            text = clean_comment(c)
            if first_comment:
                out.append(text)
                out.append("")
                first_comment = False
                continue
            if set(text.replace("\n", "").strip()) <= set("-"):
                continue
            if "\n" not in text and re.match(r"^[A-Z][A-Za-z0-9 /()+-]*$", text) and len(text) < 60 \
                    and src[m.end():m.end() + 80].lstrip().startswith("/* ---"):
                flush_decl()
                out.append("## " + text)
                out.append("")
                continue
            flush_decl()
            pending = text
            continue
        line = m.group(2)
        s = line.strip()
        if not s and depth == 0:
            flush_decl()
            continue
        if s.startswith('extern "C"') or (s == "}" and depth == 0 and not decl):
            continue
        if s.startswith("#") and not in_macro:
            # Keep the API's macros; drop the guard, includes, conditionals.
            if not re.match(r"#\s*define\s+(?!UVWS_H\b|UVWS_EXTERN\b)", s):
                continue
        in_macro = s.endswith("\\") if (s.startswith("#") or in_macro) else False
        if re.match(r"^/\* -+ \*/$", s):
            continue
        decl.append(line)
        depth += line.count("{") - line.count("}")
        if depth == 0 and s.endswith(";"):
            flush_decl()
    flush_decl()
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
    return text


def main():
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/c-api.md is stale: run python3 docs/gen_c_api.py", file=sys.stderr)
            return 1
        print("docs/c-api.md is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
