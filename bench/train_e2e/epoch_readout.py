#!/usr/bin/env python3
"""Reads a `trainer train` run's RUN/metrics.jsonl (rank 0's step lines; train.log_every: 1 writes
every step) and prints the last epoch's throughput and where its time went, in the format of
tools/train_baseline.py's line:
  <label> epoch_images_per_s <v> images <n> seconds <s> data_wait_s .. forward_s .. backward_s ..
  allreduce_wait_s .. optimizer_s .. other_s ..
The epoch's wall time runs from the start of its first step (the time its line was written minus
that step's step_seconds) to the line of its last step, so the previous epoch's checkpoint is not
in it; `other` is what the phases do not cover (host reads of the step results, the monitor).

usage: epoch_readout.py RUN_DIR LABEL
"""
import json
import sys


def main():
    run_dir, label = sys.argv[1], sys.argv[2]
    steps = []
    with open(f"{run_dir}/metrics.jsonl") as f:
        for line in f:
            record = json.loads(line)
            if record.get("type") == "step":
                steps.append(record)
    if not steps:
        sys.exit(f"epoch_readout: no step lines in {run_dir}/metrics.jsonl")
    last = max(s["epoch"] for s in steps)
    epoch = sorted((s for s in steps if s["epoch"] == last), key=lambda s: s["step"])
    if len(epoch) < 2 or epoch[-1]["step"] - epoch[0]["step"] + 1 != len(epoch):
        sys.exit(f"epoch_readout: epoch {last} has {len(epoch)} step lines, not every step (train.log_every: 1?)")
    seconds = epoch[-1]["time"] - (epoch[0]["time"] - epoch[0]["step_seconds"])
    images = sum(s["global_images"] for s in epoch)
    phases = {name: sum(s["phases"][name] for s in epoch)
              for name in ("data_wait", "forward", "backward", "allreduce_wait", "optimizer")}
    phases["other"] = seconds - sum(phases.values())
    print(f"{label} epoch_images_per_s {images / seconds:.2f} images {images} seconds {seconds:.2f} "
          + " ".join(f"{k}_s {v:.2f}" for k, v in phases.items()))
    print(f"{label} phase_share " + " ".join(f"{k} {100 * v / seconds:.1f}%" for k, v in phases.items()))


if __name__ == "__main__":
    main()
