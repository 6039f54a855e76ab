#!/usr/bin/env python3
"""Draw a bench/run.sh results file as one SVG: server CPU time per echoed
message for each scenario, and server memory per connection, uvws against
every other server of the run (lower is better everywhere).

    .venv/bin/python bench/chart.py bench/results/<stamp>.json [-o docs/bench.svg]

Needs matplotlib (requirements-bench.txt). The memory panel uses the
scenario with the most connections: how much the server's RSS grew while the
second half of the connections opened (handshakes done, no message yet),
per connection (uvws_loadgen's server_rss_kib_per_conn; the first half pays
for first-use buffers and the peak of concurrent handshakes).
Servers that failed or echoed nothing in a scenario are left out of it.
"""
import argparse
import json
import os
import sys

UVWS_COLOR = "#d62728"
PEER_COLOR = "#7f7f7f"


def ok_runs(runs):
    out = []
    for r in runs:
        x = r.get("result")
        if r.get("rc", 1) == 0 and x and x.get("messages", 0) > 0 and x.get("server_cpu_us_per_msg", -1) > 0:
            out.append(r)
    return out


def order_scenarios(runs):
    seen = []
    for r in runs:
        if r["scenario"] not in seen:
            seen.append(r["scenario"])
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
    ap.add_argument("results", help="bench/results/<stamp>.json written by bench/run.sh")
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
    runs = ok_runs(data.get("runs", []))
    if not runs:
        sys.exit(f"chart.py: no successful run in {args.results}")
    scenarios = order_scenarios(runs)
    mem_runs = [r for r in runs if r["result"].get("server_rss_kib_per_conn", -1) > 0]
    mem_scen = None
    if mem_runs:
        mem_scen = max(order_scenarios(mem_runs),
                       key=lambda s: max(r["result"]["connections"] for r in mem_runs if r["scenario"] == s))

    panels = len(scenarios) + (1 if mem_scen else 0)
    nserv = max(len([r for r in runs if r["scenario"] == s]) for s in scenarios)
    fig, axes = plt.subplots(1, panels, figsize=(2.9 * panels, 0.9 + 0.26 * nserv), squeeze=False)
    axes = axes[0]
    for ax, s in zip(axes, scenarios):
        rows = [r for r in runs if r["scenario"] == s]
        x = rows[0]["result"]
        bars(ax, [r["server"] for r in rows], [r["result"]["server_cpu_us_per_msg"] for r in rows],
             "{:.1f}", f"{s}: {x['connections']} conns x {x['size']} B\nserver CPU per message",
             "µs per message")
    if mem_scen:
        rows = [r for r in mem_runs if r["scenario"] == mem_scen]
        n = rows[0]["result"]["connections"]
        bars(axes[-1], [r["server"] for r in rows], [r["result"]["server_rss_kib_per_conn"] for r in rows],
             "{:.2f}", f"server RSS per connection\n({mem_scen}: growth, 2nd half)", "KiB per connection")
    meta = data.get("meta", {})
    env = data.get("environment", {})
    note = "lower is better; one run of bench/run.sh"
    commit = meta.get("git") or meta.get("commit")
    if commit:
        note += f" at {str(commit)[:10]}"
    if data.get("date"):
        note += f", {data['date']}"
    cpu = env.get("cpu_model") or env.get("cpu")
    if cpu:
        note += f", {cpu}"
    fig.suptitle(note, fontsize=7, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    fig.savefig(args.output, format="svg", metadata={"Date": None})
    print(f"chart: {args.output} ({len(scenarios)} scenarios, {nserv} servers"
          + (f", memory from {mem_scen}" if mem_scen else ", no memory figures in this file") + ")")


if __name__ == "__main__":
    main()
