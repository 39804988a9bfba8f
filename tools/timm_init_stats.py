#!/usr/bin/env python3
"""Per-tensor statistics of freshly initialised timm models: the oracle of
tests/models/init_stats_test.cpp, which checks that a model created here from scratch starts from
the same distributions as timm's (same parameter names).

Usage: timm_init_stats.py CASES_JSON
  CASES_JSON: [{"case": "...", "timm_name": "...", "kwargs": {...}}, ...]
Prints one JSON object: {case: {tensor_name: [numel, mean, std, q50, q99, is_parameter], ...}, ...}
over every parameter and floating-point buffer, computed in float64; q50 and q99 are quantiles of
|x| (the element at index floor(p * (numel - 1)) of the sorted absolute values), robust to the rare
+-2 values timm's trunc_normal_ clamps an inf to (a uniform draw of exactly -1 into erfinv).
"""
import json
import sys

import timm
import torch


def stats(model):
    out = {}
    tensors = [(n, t, 1) for n, t in model.named_parameters()] + [(n, t, 0) for n, t in model.named_buffers()]
    for name, t, is_param in tensors:
        if not t.is_floating_point():
            continue
        v = t.detach().double().flatten()
        std = v.std().item() if v.numel() > 1 else 0.0
        a = v.abs().sort().values
        q = lambda p: a[int(p * (a.numel() - 1))].item()
        out[name] = [v.numel(), v.mean().item(), std, q(0.5), q(0.99), is_param]
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    result = {}
    for case in json.loads(sys.argv[1]):
        torch.manual_seed(0)
        model = timm.create_model(case["timm_name"], pretrained=False, **case.get("kwargs", {}))
        result[case["case"]] = stats(model)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
