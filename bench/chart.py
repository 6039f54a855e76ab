#!/usr/bin/env python3
"""Draw benchmark figures as one SVG: server CPU time per echoed message for
each scenario, and server memory per connection, uvws against every other
server of one run (lower is better everywhere).

    .venv/bin/python bench/chart.py bench/results.json --run chart -o docs/bench.svg
    .venv/bin/python bench/chart.py bench/results/<stamp>.json -o /tmp/bench.svg

The input is either a run published in bench/results.json (bench/report.py
publish; README.md's chart is its run `chart`) or a results file of
bench/run.sh. Needs matplotlib (requirements-bench.txt). The memory panel
uses the scenario with the most connections: how much the server's RSS grew
while the second half of the connections opened (handshakes done, no
message yet), per connection (uvws_loadgen's server_rss_kib_per_conn; the
first half pays for first-use buffers and the peak of concurrent
handshakes). Servers that failed or echoed nothing are left out.
"""
import argparse
import json
import os
import re
import sys

UVWS_COLOR = "#d62728"
PEER_COLOR = "#7f7f7f"


def rows_of(data, run_name):
    """(server, scenario, connections, size, cpu us/msg, rss KiB/conn or None)
    in the order of the run, and a note saying where they come from."""
    runs = data.get("runs")
    if isinstance(runs, dict):  # bench/results.json
        if not run_name or run_name not in runs:
            sys.exit(f"chart.py: name a run with --run: {', '.join(runs)}")
        r = runs[run_name]
        rss = r.get("rss_kib_per_conn", {})
        out = []
        for srv, per in r["cpu_us_per_msg"].items():
            for sc, cpu in per.items():
                m = re.match(r"(\d+)x(\d+)([km]?)", sc)
                conns, size = int(m.group(1)), int(m.group(2)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(3)]
                out.append((srv, sc, conns, size, cpu, rss.get(srv, {}).get(sc)))
        return out, f"bench/results.json run '{run_name}', {r.get('date', '')}"
    out = []
    for r in runs or []:
        x = r.get("result")
        if r.get("rc", 1) == 0 and x and x.get("messages", 0) > 0 and x.get("server_cpu_us_per_msg", -1) > 0:
            rss = x.get("server_rss_kib_per_conn", -1)
            out.append((r["server"], r["scenario"], x["connections"], x["size"], x["server_cpu_us_per_msg"],
                        rss if rss > 0 else None))
    meta = data.get("meta", {})
    return out, f"one run of bench/run.sh at {str(meta.get('git', ''))[:10]}, {data.get('date', '')}"


def order_scenarios(rows):
    seen = []
    for r in rows:
        if r[1] not in seen:
            seen.append(r[1])
    return seen


def is_uvws(name):
    return name == "uvws" or name.startswith("uvws-") or name.startswith("uvws ")


def bars(ax, labels, values, fmt, title, xlabel):
    ys = list(range(len(labels)))
    colors = [UVWS_COLOR if is_uvws(n) else PEER_COLOR for n in labels]
    ax.barh(ys, values, color=colors)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    top = max(values) if values else 1
    for y, v in zip(ys, values):
        ax.text(v + top * 0.01, y, fmt.format(v), va="center", fontsize=7)
    ax.set_xlim(0, top * 1.22)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="bench/results.json (with --run) or a bench/results/<stamp>.json of bench/run.sh")
    ap.add_argument("--run", help="the run of bench/results.json to draw")
    ap.add_argument("-o", "--output", default="docs/bench.svg")
    args = ap.parse_args()
    try:
        import matplotlib
    except ImportError:
        sys.exit("chart.py: matplotlib is missing: .venv/bin/pip install -r requirements-bench.txt")
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "uvws-bench"  # stable ids: diffs show real changes
    import matplotlib.pyplot as plt

    with open(args.results) as f:
        data = json.load(f)
    rows, source = rows_of(data, args.run)
    if not rows:
        sys.exit(f"chart.py: no successful run in {args.results}")
    scenarios = order_scenarios(rows)
    mem_rows = [r for r in rows if r[5] is not None]
    mem_scen = None
    if mem_rows:
        mem_scen = max(order_scenarios(mem_rows), key=lambda s: max(r[2] for r in mem_rows if r[1] == s))

    panels = len(scenarios) + (1 if mem_scen else 0)
    nserv = max(len([r for r in rows if r[1] == s]) for s in scenarios)
    fig, axes = plt.subplots(1, panels, figsize=(2.9 * panels, 0.9 + 0.26 * nserv), squeeze=False)
    axes = axes[0]
    for ax, s in zip(axes, scenarios):
        sr = [r for r in rows if r[1] == s]
        bars(ax, [r[0] for r in sr], [r[4] for r in sr], "{:.1f}",
             f"{s}: {sr[0][2]} conns x {sr[0][3]} B\nserver CPU per message", "µs per message")
    if mem_scen:
        sr = [r for r in mem_rows if r[1] == mem_scen]
        bars(axes[-1], [r[0] for r in sr], [r[5] for r in sr], "{:.2f}",
             f"server RSS per connection\n({mem_scen}: growth, 2nd half)", "KiB per connection")
    fig.suptitle(f"lower is better; {source}", fontsize=7, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    fig.savefig(args.output, format="svg", metadata={"Date": None})
    print(f"chart: {args.output} ({len(scenarios)} scenarios, {nserv} servers"
          + (f", memory from {mem_scen}" if mem_scen else ", no memory figures") + ")")


if __name__ == "__main__":
    main()
