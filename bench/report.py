#!/usr/bin/env python3
"""Tables and the results file for bench/run.sh (standard library only).

    report.py table RUNS.jsonl SCENARIO     print the table of one scenario
    report.py save RUNS.jsonl OUT.json --meta k=v ...
    report.py show RESULTS.json             print every table of a saved run
    report.py markdown RESULTS.json         the same as Markdown (for bench/README.md)
    report.py publish RESULTS.json NAME [--what TEXT]
                                            write the run into bench/results.json as
                                            runs.NAME: the one source of the figures the
                                            documents quote (tests/readme/test_figures.py)
"""
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISY = 0.15  # other processes used more than 15 % of a core during the window


def load_jsonl(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    runs.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return runs


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and v >= 100000:
        return f"{v:,.0f}"
    return f"{v:,.{nd}f}"


def table(runs, scenario):
    rows = [r for r in runs if r.get("scenario") == scenario]
    if not rows:
        return ""
    ok = [r for r in rows if r.get("result") and r["result"].get("messages", 0) > 0]
    ref = next((r for r in ok if r["server"] == "uvws"), ok[0] if ok else None)
    refname = ref["server"] if ref else "-"
    res0 = next((r["result"] for r in rows if r.get("result")), None)
    head = f"scenario {scenario}"
    if res0:
        head += (f": {res0['connections']} conns x {res0['size']} B {res0['type']}, pipeline {res0['pipeline']},"
                 f" {res0['duration_s']:.1f} s measured")
        if res0.get("cpu_scope", "all") != "all":
            head += f", other% measured on {res0['cpu_scope']}"
    cols = ["server", "msg/s", "p50 us", "p99 us", "CPU us/msg", "srv CPU%",
            f"CPU/msg vs {refname}", f"msg/s vs {refname}", "other%", "errors"]
    out = []
    for r in rows:
        x = r.get("result")
        if not x:
            out.append([r["server"], "-", "-", "-", "-", "-", "-", "-", "-", r.get("note") or f"rc={r.get('rc')}"])
            continue
        cpu = x.get("server_cpu_us_per_msg")
        cpu = cpu if cpu is not None and cpu >= 0 else None
        util = x.get("server_cpu_util")
        other = x.get("other_cpu_util")
        rc = ref["result"] if ref else None
        rcpu = rc.get("server_cpu_us_per_msg") if rc else None
        ratio_cpu = f"{cpu / rcpu:.2f}x" if cpu and rcpu and rcpu > 0 else "-"
        ratio_mps = f"{x['msgs_per_s'] / rc['msgs_per_s']:.2f}x" if rc and rc["msgs_per_s"] > 0 else "-"
        errs = x["errors"]["total"]
        e = "0" if errs == 0 else ",".join(f"{k}={v}" for k, v in x["errors"].items() if k != "total" and v)
        if r.get("note"):
            e += f" ({r['note']})"
        if other is not None and -0.05 <= other < 0:
            other = 0.0  # tick-sampled accounting rounds both ways
        o = "-" if other is None or other < 0 else f"{other * 100:.0f}" + ("!" if other > NOISY else "")
        out.append([r["server"], fmt(x["msgs_per_s"], 0), fmt(x["latency_us"]["p50"]), fmt(x["latency_us"]["p99"]),
                    fmt(cpu, 2), "-" if util is None or util < 0 else f"{util * 100:.0f}",
                    ratio_cpu, ratio_mps, o, e])
    w = [max(len(str(c)) for c in col) for col in zip(cols, *out)]
    lines = [head, "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cols))]
    lines.append("  ".join("-" * n for n in w))
    for row in out:
        lines.append("  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(row)))
    if any(r.get("result") and (r["result"].get("other_cpu_util") or 0) > NOISY for r in rows):
        lines.append(f"  ! other processes used > {NOISY * 100:.0f} % of a core during that run: figures are noisy")
    return "\n".join(lines) + "\n"


def markdown(runs):
    """Two Markdown tables (server CPU us per message, and msg/s), a row per
    server, a column per scenario; ratios against uvws (or the first server)."""
    scen, servers = [], []
    for r in runs:
        if r["scenario"] not in scen:
            scen.append(r["scenario"])
        if r["server"] not in servers:
            servers.append(r["server"])
    by = {(r["scenario"], r["server"]): r.get("result") for r in runs}
    ref = "uvws" if "uvws" in servers else servers[0]

    def val(s, srv, key):
        x = by.get((s, srv))
        if not x or x.get("messages", 0) == 0 or x["errors"]["total"]:
            return None, False
        v = x.get(key)
        return (v if v is not None and v >= 0 else None), (x.get("other_cpu_util") or 0) > NOISY

    out = []
    for title, key, nd in (("Server CPU time per echoed message, us (lower is better; ratio to %s)" % ref,
                            "server_cpu_us_per_msg", 2),
                           ("Messages echoed per second (ratio to %s)" % ref, "msgs_per_s", 0)):
        out.append(f"{title}:\n")
        out.append("| server | " + " | ".join(scen) + " |")
        out.append("|---|" + "---:|" * len(scen))
        for srv in servers:
            cells = []
            for s in scen:
                v, noisy = val(s, srv, key)
                rv, _ = val(s, ref, key)
                x = by.get((s, srv))
                if v is None:
                    cells.append("error" if x and x["errors"]["total"] else "-")
                    continue
                c = f"{v:,.{nd}f}"
                if rv:
                    c += f" ({v / rv:.2f}x)"
                cells.append(c + ("*" if noisy else ""))
            out.append(f"| {srv} | " + " | ".join(cells) + " |")
        out.append("")
    if any((x or {}).get("other_cpu_util", 0) > NOISY for x in by.values()):
        out.append("\\* other processes used more than 15 % of a core during that run (noisy).\n")
    return "\n".join(out)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def environment():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    py = os.path.join(ROOT, ".venv", "bin", "python")
    pyver = ""
    if os.access(py, os.X_OK):
        pyver = sh([py, "-c", "import importlib.metadata as m, json, sys; d={}\n"
                    "for p in ('websockets','uvloop','picows','aiohttp'):\n"
                    "    try: d[p]=m.version(p)\n"
                    "    except Exception: pass\n"
                    "d['python']=sys.version.split()[0]; print(json.dumps(d))"])
    wsver = ""
    try:
        with open(os.path.join(ROOT, "node_modules", "ws", "package.json")) as f:
            wsver = json.load(f).get("version", "")
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "node": sh(["node", "--version"]),
        "ws": wsver,
        "libwebsockets": sh(["pkg-config", "--modversion", "libwebsockets"]),
        "python_packages": json.loads(pyver) if pyver.startswith("{") else {},
    }


PUBLISHED = os.path.join(ROOT, "bench", "results.json")


def publish(doc, name, what):
    """The figures of a saved run, as bench/results.json keeps them: per
    server and scenario, CPU us/msg and latencies to 2 decimals, msg/s whole;
    failed runs left out, noisy ones listed."""
    out = {"what": what or "bench/run.sh", "command": doc.get("meta", {}).get("command", "bench/run.sh"),
           "date": doc.get("date", "")[:10], "cpu_us_per_msg": {}, "msg_per_s": {}, "p50_us": {}, "p99_us": {}, "noisy": []}
    for r in doc["runs"]:
        x = r.get("result")
        if not x or x.get("messages", 0) == 0 or x["errors"]["total"]:
            continue
        srv, sc = r["server"], r["scenario"]
        if x.get("server_cpu_us_per_msg") is not None:
            out["cpu_us_per_msg"].setdefault(srv, {})[sc] = round(x["server_cpu_us_per_msg"], 2)
        out["msg_per_s"].setdefault(srv, {})[sc] = int(round(x["msgs_per_s"]))
        out["p50_us"].setdefault(srv, {})[sc] = round(x["latency_us"]["p50"], 2)
        out["p99_us"].setdefault(srv, {})[sc] = round(x["latency_us"]["p99"], 2)
        if (x.get("server_rss_kib_per_conn") or -1) > 0:
            # growth of the server's RSS per connection over the second half
            # of the connections (uvws_loadgen), 2 decimals
            out.setdefault("rss_kib_per_conn", {}).setdefault(srv, {})[sc] = round(x["server_rss_kib_per_conn"], 2)
        if (x.get("other_cpu_util") or 0) > NOISY:
            out["noisy"].append(f"{srv}|{sc}")
    with open(PUBLISHED) as f:
        pub = json.load(f)
    pub["runs"][name] = out
    with open(PUBLISHED, "w") as f:
        json.dump(pub, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main(argv):
    if len(argv) >= 3 and argv[0] == "table":
        sys.stdout.write("\n" + table(load_jsonl(argv[1]), argv[2]))
        sys.stdout.flush()
        return 0
    if len(argv) >= 3 and argv[0] == "save":
        runs = load_jsonl(argv[1])
        meta = {}
        if "--meta" in argv:
            for kv in argv[argv.index("--meta") + 1:]:
                k, _, v = kv.partition("=")
                meta[k] = v
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "meta": meta,
               "environment": environment(), "runs": runs}
        os.makedirs(os.path.dirname(os.path.abspath(argv[2])), exist_ok=True)
        with open(argv[2], "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        return 0
    if len(argv) >= 3 and argv[0] == "publish":
        with open(argv[1]) as f:
            doc = json.load(f)
        what = argv[argv.index("--what") + 1] if "--what" in argv else None
        publish(doc, argv[2], what)
        return 0
    if len(argv) >= 2 and argv[0] == "markdown":
        with open(argv[1]) as f:
            sys.stdout.write(markdown(json.load(f)["runs"]))
        return 0
    if len(argv) >= 2 and argv[0] == "show":
        with open(argv[1]) as f:
            doc = json.load(f)
        runs = doc["runs"]
        seen = []
        for r in runs:
            if r["scenario"] not in seen:
                seen.append(r["scenario"])
        for s in seen:
            sys.stdout.write("\n" + table(runs, s))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
