#!/usr/bin/env python3
"""Markdown tables of the codec benches from criterion's saved estimates.

Usage: python3 bench/scripts/criterion_table.py [target/criterion] [baseline-name]
Prints, for every group (<format>/decode, <format>/encode) and payload size,
messages per second of each function (median estimate) and the ratio of the
wireforms codec (and parser) to the tokio-util peer measured in that run.
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
which = sys.argv[2] if len(sys.argv) > 2 else "new"


def rate(path):
    with open(os.path.join(path, which, "estimates.json")) as f:
        est = json.load(f)
    with open(os.path.join(path, which, "benchmark.json")) as f:
        bench = json.load(f)
    elements = (bench.get("throughput") or {}).get("Elements", 1)
    return elements / (est["median"]["point_estimate"] * 1e-9)


def human(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


for fmt in ["typed", "magic", "frame", "mux", "request"]:
    for op in ["decode", "encode"]:
        group = os.path.join(root, f"{fmt}_{op}")
        if not os.path.isdir(group):
            continue
        funcs = sorted(d for d in os.listdir(group) if d != "report")
        peer = next(f for f in funcs if f.startswith("tokio-util"))
        ours = [f for f in funcs if f.startswith("wireforms")]
        sizes = sorted(
            {int(s) for f in funcs for s in os.listdir(os.path.join(group, f)) if s.isdigit()}
        )
        print(f"\n#### {fmt} {op} (messages/s; peer: {peer})\n")
        head = "| size | " + " | ".join(ours) + f" | {peer} | " + " | ".join(
            f"{o} / peer" for o in ours
        ) + " |"
        print(head)
        print("|" + "---:|" * (1 + 2 * len(ours) + 1))
        for size in sizes:
            try:
                p = rate(os.path.join(group, peer, str(size)))
                rs = [rate(os.path.join(group, o, str(size))) for o in ours]
            except FileNotFoundError:
                continue
            cells = [human(r) for r in rs] + [human(p)] + [f"{r / p:.2f}x" for r in rs]
            print(f"| {size} | " + " | ".join(cells) + " |")
