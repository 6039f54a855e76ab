"""The benchmark, memory and size figures the documents quote come from one
source, bench/results.json (one entry per measured run), and this test checks
every quoted figure against it: the tables of README.md, bench/README.md,
node/README.md and bench/python.md cell by cell (ratios in parentheses
recomputed from the run's figures), the figures quoted in prose, the memory
table and its bounds, and the struct sizes, which are also compared with the
compiled engine."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())
RUNS = RESULTS["runs"]


def read(doc):
    return (ROOT / doc).read_text()


def md_table(text, header_start):
    """Rows (lists of stripped cells) of the Markdown table whose header line
    starts with `header_start`, header row first, separator row dropped."""
    i = text.index(header_start)
    rows = []
    for line in text[i:].split("\n"):
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    assert len(rows) > 2, header_start
    return [rows[0]] + rows[2:]


def first_number(cell):
    m = re.search(r"[\d][\d,]*(?:\.\d+)?", cell)
    assert m, cell
    return float(m.group(0).replace(",", ""))


def ratio_in(cell):
    m = re.search(r"\(([\d.]+)[x×]\)", cell)
    return float(m.group(1)) if m else None


def same(quoted, value, what):
    assert quoted == pytest.approx(value, rel=0, abs=1e-9), f"{what}: the document says {quoted}, bench/results.json {value}"


def half_unit(x):
    """Half a unit of the last digit `x` is published with."""
    s = repr(float(x))
    decimals = len(s.split(".")[1].rstrip("0")) if "." in s else 0
    return 0.5 * 10 ** -decimals


def ratio_tolerance(a, b, quoted=0.01):
    # Ratios were computed from the unrounded figures, the results file holds
    # the rounded ones: allow their rounding plus half a unit of the last
    # digit the ratio is quoted with.
    r = a / b
    return half_unit(quoted) + 1e-9 + r * (half_unit(a) / a + half_unit(b) / b)


def close_ratio(quoted, a, b, what):
    assert abs(quoted - a / b) <= ratio_tolerance(a, b, quoted), f"{what}: the document says {quoted}x, bench/results.json gives {a}/{b} = {a / b:.3f}"


README_SCENARIOS = {"100 conns × 16 B": "100x16", "10 conns × 64 KiB": "10x64k", "1 conn × 16 B": "1x16",
                    "1000 conns × 16 B": "1000x16", "100 conns × 1 KiB": "100x1k"}
README_SERVERS = {"uvws (C)": "uvws", "libwebsockets": "lws", "lws4k": "lws4k", "ws + bufferutil": "ws",
                  "websockets": "websockets", "raw TCP": "raw", "uvws Node": "uvws-node", "uvws Python": "uvws-python"}


def test_readme_performance_table():
    run = RUNS["pinned-packages"]
    rows = md_table(read("README.md"), "| scenario | uvws (C) |")
    servers = [README_SERVERS[h] for h in rows[0][1:]]
    checked = 0
    for row in rows[1:]:
        sc = README_SCENARIOS[row[0]]
        for srv, cell in zip(servers, row[1:]):
            cpu = run["cpu_us_per_msg"][srv][sc]
            same(first_number(cell), cpu, f"README.md {srv} {sc} CPU")
            r = ratio_in(cell)
            if r is not None:
                close_ratio(r, cpu, run["cpu_us_per_msg"]["uvws"][sc], f"README.md {srv} {sc} ratio")
            m = re.search(r"· ([\d.]+)k/s", cell)
            if m:
                assert float(m.group(1)) == round(run["msg_per_s"][srv][sc] / 1000), f"README.md {srv} {sc} msg/s"
            else:
                assert sc not in run.get("msg_per_s", {}).get(srv, {}), f"README.md {srv} {sc}: msg/s not quoted"
            m = re.search(r"p50 ([\d.]+) µs", cell)
            if m:
                same(float(m.group(1)), run["p50_us"][srv][sc], f"README.md {srv} {sc} p50")
            checked += 1
    assert checked == 40


def prose_checks():
    """(document, regex, [(group, expected value, 'value' | 'ratio')])."""
    P = RUNS["pinned-packages"]["cpu_us_per_msg"]
    N = RUNS["node"]
    Y = RUNS["python"]
    D = RUNS["deflate"]
    R = RUNS["pinned-reference"]["cpu_us_per_msg"]
    return [
        ("README.md", r"at 100 × 16 B ([\d.]+)× libwebsockets' CPU per message and ([\d.]+)× ws's",
         [(1, (P["uvws"]["100x16"], P["lws"]["100x16"]), "ratio"), (2, (P["uvws"]["100x16"], P["ws"]["100x16"]), "ratio")]),
        ("README.md", r"a 64 KiB echo costs ([\d.]+) µs, within \d+ % of the\s+raw TCP echo \(([\d.]+) µs\) and ([\d.]+)× libwebsockets with its default buffers\s+\(([\d.]+)× with 64 KiB buffers\)",
         [(1, round(P["uvws"]["10x64k"], 1), "value"), (2, round(P["raw"]["10x64k"], 1), "value"),
          (3, (P["uvws"]["10x64k"], P["lws4k"]["10x64k"]), "ratio"), (4, (P["uvws"]["10x64k"], P["lws"]["10x64k"]), "ratio")]),
        ("README.md", r"([\d.]+)× the CPU per\s+message \(([\d.]+) against ([\d.]+) µs\), ([\d.]+)× the messages/s \(([\d,]+) against\s+([\d,]+)\), p99 ([\d,]+) µs against ([\d,]+) µs",
         [(1, (N["cpu_us_per_msg"]["uvws-node"]["100x16"], N["cpu_us_per_msg"]["ws"]["100x16"]), "ratio"),
          (2, N["cpu_us_per_msg"]["uvws-node"]["100x16"], "value"), (3, N["cpu_us_per_msg"]["ws"]["100x16"], "value"),
          (4, (N["msg_per_s"]["uvws-node"]["100x16"], N["msg_per_s"]["ws"]["100x16"]), "ratio"),
          (5, N["msg_per_s"]["uvws-node"]["100x16"], "value"), (6, N["msg_per_s"]["ws"]["100x16"], "value"),
          (7, N["p99_us"]["uvws-node"]["100x16"], "value"), (8, N["p99_us"]["ws"]["100x16"], "value")]),
        *[(doc, r"([\d.]+)[x×] websockets' CPU per message \(([\d.]+) (?:against|vs) ([\d.]+) (?:µs|us)\) and ([\d.]+)[x×]\s+picows' \(([\d.]+) (?:µs|us)\),[^(]*\(([\d,]+) against\s+([\d,]+) and ([\d,]+)\)",
           [(1, (Y["cpu_us_per_msg"]["uvws-python"]["100x16"], Y["cpu_us_per_msg"]["websockets"]["100x16"]), "ratio"),
            (2, Y["cpu_us_per_msg"]["uvws-python"]["100x16"], "value"), (3, Y["cpu_us_per_msg"]["websockets"]["100x16"], "value"),
            (4, (Y["cpu_us_per_msg"]["uvws-python"]["100x16"], Y["cpu_us_per_msg"]["picows"]["100x16"]), "ratio"),
            (5, Y["cpu_us_per_msg"]["picows"]["100x16"], "value"),
            (6, Y["msg_per_s"]["uvws-python"]["100x16"], "value"), (7, Y["msg_per_s"]["websockets"]["100x16"], "value"),
            (8, Y["msg_per_s"]["picows"]["100x16"], "value")]) for doc in ("README.md", "python/README.md")],
        ("bench/python.md", r"\*\*([\d.]+)x websockets\*\* \(([\d.]+) vs ([\d.]+) us\), \*\*([\d.]+)x picows\*\* \(([\d.]+) us;\s+([\d.]+)x picows-uvloop's ([\d.]+) us\); ([\d,]+) msg/s against ([\d,]+) and ([\d,]+)\s+\(([\d,]+) on uvloop\)",
         [(1, (Y["cpu_us_per_msg"]["uvws-python"]["100x16"], Y["cpu_us_per_msg"]["websockets"]["100x16"]), "ratio"),
          (2, Y["cpu_us_per_msg"]["uvws-python"]["100x16"], "value"), (3, Y["cpu_us_per_msg"]["websockets"]["100x16"], "value"),
          (4, (Y["cpu_us_per_msg"]["uvws-python"]["100x16"], Y["cpu_us_per_msg"]["picows"]["100x16"]), "ratio"),
          (5, Y["cpu_us_per_msg"]["picows"]["100x16"], "value"),
          (6, (Y["cpu_us_per_msg"]["uvws-python"]["100x16"], Y["cpu_us_per_msg"]["picows-uvloop"]["100x16"]), "ratio"),
          (7, Y["cpu_us_per_msg"]["picows-uvloop"]["100x16"], "value"),
          (8, Y["msg_per_s"]["uvws-python"]["100x16"], "value"), (9, Y["msg_per_s"]["websockets"]["100x16"], "value"),
          (10, Y["msg_per_s"]["picows"]["100x16"], "value"), (11, Y["msg_per_s"]["picows-uvloop"]["100x16"], "value")]),
        ("README.md", r"the C server ([\d.]+) µs\s+of CPU and (\d+) bytes on the wire per message, ws with `perMessageDeflate`\s+([\d.]+) µs and (\d+) bytes \(([\d.]+)× the CPU; ([\d,]+) against ([\d,]+) msg/s\); without\s+context takeover ([\d.]+) µs against ([\d.]+) µs, (\d+) against (\d+) bytes",
         [(1, D["cpu_us_per_msg"]["uvws"]["takeover"], "value"), (2, D["wire_bytes_per_msg"]["uvws"]["takeover"], "value"),
          (3, D["cpu_us_per_msg"]["ws"]["takeover"], "value"), (4, D["wire_bytes_per_msg"]["ws"]["takeover"], "value"),
          (5, (D["cpu_us_per_msg"]["uvws"]["takeover"], D["cpu_us_per_msg"]["ws"]["takeover"]), "ratio"),
          (6, D["msg_per_s"]["uvws"]["takeover"], "value"), (7, D["msg_per_s"]["ws"]["takeover"], "value"),
          (8, D["cpu_us_per_msg"]["uvws"]["no-takeover"], "value"), (9, D["cpu_us_per_msg"]["ws"]["no-takeover"], "value"),
          (10, D["wire_bytes_per_msg"]["uvws"]["no-takeover"], "value"), (11, D["wire_bytes_per_msg"]["ws"]["no-takeover"], "value")]),
        ("bench/README.md", r"uvws's per-message work \(([\d.]+) us\) is (\d+) % above the raw floor \(([\d.]+)\) and (\d+) % below lws \(([\d.]+)\)",
         [(1, R["uvws"]["100x16"], "value"), (2, round(100 * (R["uvws"]["100x16"] / R["raw"]["100x16"] - 1)), "value"),
          (3, R["raw"]["100x16"], "value"), (4, round(100 * (1 - R["uvws"]["100x16"] / R["lws"]["100x16"])), "value"),
          (5, R["lws"]["100x16"], "value")]),
    ]


@pytest.mark.parametrize("doc,pattern,checks", prose_checks(), ids=lambda x: x if isinstance(x, str) and len(x) < 20 else None)
def test_prose_figures(doc, pattern, checks):
    text = read(doc)
    m = re.search(pattern.replace(" ", r"\s+"), text)
    assert m, f"{doc}: the sentence with these figures is gone or reworded: {pattern}"
    for group, expected, kind in checks:
        quoted = float(m.group(group).replace(",", ""))
        if kind == "ratio":
            a, b = expected
            assert abs(quoted - a / b) <= ratio_tolerance(a, b, quoted), f"{doc}: {m.group(0)!r}: {quoted} where bench/results.json gives {a}/{b} = {a / b:.3f}"
        else:
            assert quoted == pytest.approx(expected, rel=0, abs=1e-9), f"{doc}: {m.group(0)!r}: {quoted} where bench/results.json has {expected}"


def test_bench_readme_tables():
    text = read("bench/README.md")
    pinned = text[text.index("### `bench/run.sh --pin same`"):]
    for run, key, header in (("pinned-reference", "cpu_us_per_msg", "Server CPU time per echoed message"),
                             ("pinned-reference", "msg_per_s", "Messages echoed per second"),
                             ("unpinned-reference", "cpu_us_per_msg", None)):
        part = pinned if run == "pinned-reference" else text[text.index("### `bench/run.sh` (unpinned)"):]
        if header:
            part = part[part.index(header):]
        rows = md_table(part, "| server |")
        scen = rows[0][1:]
        figures = RUNS[run][key]
        assert {r[0] for r in rows[1:]} == set(figures), f"bench/README.md {run} {key}: servers"
        for row in rows[1:]:
            for sc, cell in zip(scen, row[1:]):
                v = figures[row[0]][sc]
                same(first_number(cell), v, f"bench/README.md {run} {key} {row[0]} {sc}")
                close_ratio(ratio_in(cell), v, figures["uvws"][sc], f"bench/README.md {run} {key} {row[0]} {sc}")
                assert cell.endswith("*") == (f"{row[0]}|{sc}" in RUNS[run]["noisy"]), f"bench/README.md {run} {row[0]} {sc}: noisy mark"


def test_node_readme_table():
    run = RUNS["node"]
    rows = md_table(read("node/README.md"), "| scenario | server | msg/s |")
    names = {"uvws-node": "uvws-node", "ws + bufferutil": "ws"}
    scen = {"1 × 16 B": "1x16", "100 × 16 B": "100x16", "1 × 64 KiB": "1x64k", "100 × 64 KiB": "100x64k"}
    seen = 0
    sc = None
    for row in rows[1:]:
        sc = scen[row[0]] if row[0] else sc
        for col, key in ((2, "msg_per_s"), (3, "p99_us"), (4, "cpu_us_per_msg")):
            if row[1] == "ratio":
                close_ratio(first_number(row[col]), run[key]["uvws-node"][sc], run[key]["ws"][sc], f"node/README.md {sc} {key} ratio")
            else:
                same(first_number(row[col]), run[key][names[row[1]]][sc], f"node/README.md {sc} {row[1]} {key}")
        seen += 1
    assert seen == 12


def test_python_bench_table():
    run = RUNS["python"]
    rows = md_table(read("bench/python.md"), "| server | msg/s | p50 us |")
    assert {r[0] for r in rows[1:]} == set(run["cpu_us_per_msg"])
    for row in rows[1:]:
        srv = row[0]
        for col, key in ((1, "msg_per_s"), (2, "p50_us"), (3, "p99_us"), (4, "cpu_us_per_msg")):
            same(first_number(row[col]), run[key][srv]["100x16"], f"bench/python.md {srv} {key}")
        close_ratio(first_number(row[5]), run["cpu_us_per_msg"][srv]["100x16"], run["cpu_us_per_msg"]["uvws-python"]["100x16"], f"bench/python.md {srv} ratio")


def test_memory_table_and_bounds():
    run = RUNS["conns"]
    text = read("README.md")
    rows = md_table(text, "| server RSS per idle connection |")
    modes = {"ws://": "ws", "wss://": "wss", "ws:// + permessage-deflate, no context takeover": "deflate-no-takeover",
             "ws:// + permessage-deflate, context takeover": "deflate"}
    counts = [h.split()[0].replace(",", "") for h in rows[0][1:]]
    for row in rows[1:]:
        mode = modes[row[0]]
        for n, cell in zip(counts, row[1:]):
            if cell:
                same(first_number(cell), run["rss_kib_per_idle_connection"][mode][n], f"README.md memory {mode} {n}")
            else:
                assert n not in run["rss_kib_per_idle_connection"][mode]
            # the published figure is within the bound conns.sh enforces
            if cell:
                assert first_number(cell) <= run["bound_kib_per_idle_connection"][mode]
    m = re.search(r"([\d.]+) KiB for ws://,\s+([\d.]+) KiB for compression without context takeover, ([\d.]+) KiB for\s+wss://, ([\d.]+) KiB\s+with context takeover", text)
    assert m, "README.md: the sentence with conns.sh's bounds"
    b = run["bound_kib_per_idle_connection"]
    assert tuple(float(g) for g in m.groups()) == (b["ws"], b["deflate-no-takeover"], b["wss"], b["deflate"])


def compiled_sizes():
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.fail("no C compiler: the struct sizes cannot be checked")
    src = ROOT / "build" / "sizes_probe.c"
    src.parent.mkdir(exist_ok=True)
    src.write_text('#include <stdio.h>\n#include "uvws_internal.h"\n'
                   'int main(void) { printf("%zu %zu\\n", sizeof(struct uvws_s), sizeof(uv_tcp_t)); return 0; }\n')
    exe = src.with_suffix("")
    llhttp = next((d for d in ("/usr/share/include/llhttp", "/usr/include/llhttp", "/usr/include") if (Path(d) / "llhttp.h").exists()), None)
    assert llhttp, "llhttp.h not found"
    subprocess.run([cc, "-O0", f"-I{ROOT / 'core' / 'include'}", f"-I{ROOT / 'core' / 'src'}", f"-I{llhttp}", str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def test_struct_sizes():
    uvws_t, uv_tcp_t = compiled_sizes()
    sizes = RESULTS["sizes"]
    assert (uvws_t, uv_tcp_t) == (sizes["uvws_t"], sizes["uv_tcp_t"]), (
        f"sizeof(struct uvws_s) = {uvws_t}, sizeof(uv_tcp_t) = {uv_tcp_t}; bench/results.json and the documents say "
        f"{sizes['uvws_t']} and {sizes['uv_tcp_t']}: update them (README.md, docs/limits.md)")
    m = re.search(r"one `uvws_t` \((\d+) bytes, of which\s+libuv's TCP handle is (\d+)\)", read("README.md"))
    assert m and (int(m.group(1)), int(m.group(2))) == (uvws_t, uv_tcp_t), "README.md: the size of uvws_t"
    m = re.search(r"one (\d+)-byte `uvws_t` \((\d+) of which", read("docs/limits.md"))
    assert m and (int(m.group(1)), int(m.group(2))) == (uvws_t, uv_tcp_t), "docs/limits.md: the size of uvws_t"
