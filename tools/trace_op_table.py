#!/usr/bin/env python3
"""Op-by-op comparison of two Chrome traces of one training step (bench/model_step --trace).

Reads the CPU operator events of each trace, computes every op's self time (its duration minus
that of the ops nested in it on the same thread), splits forward from backward (an op inside an
`autograd::engine::evaluate_function` event is backward), and prints the ops with the largest
difference between the two traces, with call counts, so a slower step can be traced to the ops
that make the difference:

  tools/trace_op_table.py /tmp/t/maxvit_tiny_tf_224.cpp.json /tmp/t/maxvit_tiny_tf_224.timm.json
"""
import argparse
import collections
import json


def op_self_times(path):
    """{(phase, op name): [self microseconds, calls]} and the per-phase totals of one trace."""
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and e.get("cat") == "cpu_op":
            by_thread[e["tid"]].append(e)
    table = collections.defaultdict(lambda: [0.0, 0])
    totals = collections.Counter()
    for ops in by_thread.values():
        ops.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [event, children duration, in backward]
        for e in ops:
            while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= e["ts"]:
                _close(stack.pop(), table, totals)
            backward = bool(stack and stack[-1][2]) or e["name"].startswith("autograd::engine::evaluate_function")
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0.0, backward])
        while stack:
            _close(stack.pop(), table, totals)
    return table, totals


def _close(frame, table, totals):
    event, children, backward = frame
    phase = "bwd" if backward else "fwd"
    entry = table[(phase, event["name"])]
    self_us = max(event["dur"] - children, 0.0)
    entry[0] += self_us
    entry[1] += 1
    totals[phase] += self_us


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ours", help="trace of our step (<arch>.cpp.json)")
    p.add_argument("theirs", help="trace of timm's step (<arch>.timm.json)")
    p.add_argument("--top", type=int, default=30, help="rows to print (default 30)")
    a = p.parse_args()
    ours, ours_total = op_self_times(a.ours)
    theirs, theirs_total = op_self_times(a.theirs)
    for phase in ("fwd", "bwd"):
        print(f"{phase}: ours {ours_total[phase] / 1e3:.1f} ms, timm {theirs_total[phase] / 1e3:.1f} ms (self time of ops)")
    keys = set(ours) | set(theirs)
    rows = sorted(keys, key=lambda k: -abs(ours.get(k, [0, 0])[0] - theirs.get(k, [0, 0])[0]))
    print(f"{'phase':5} {'op':60} {'ours ms':>9} {'calls':>6} {'timm ms':>9} {'calls':>6} {'diff ms':>9}")
    for k in rows[: a.top]:
        o, t = ours.get(k, [0.0, 0]), theirs.get(k, [0.0, 0])
        print(f"{k[0]:5} {k[1][:60]:60} {o[0] / 1e3:9.1f} {o[1]:6d} {t[0] / 1e3:9.1f} {t[1]:6d} {(o[0] - t[0]) / 1e3:9.1f}")


if __name__ == "__main__":
    main()
