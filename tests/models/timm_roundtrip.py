#!/usr/bin/env python3
"""Oracle half of the timm round-trip test (timm_roundtrip_test.cpp).

Loads weights exported by the C++ model into Python timm exactly as a user would:
timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=WEIGHTS, ...), **kwargs),
(custom_load=False in the overlay: some ViT tags default to timm's .npz loader, ours is safetensors)
runs it on the `input` tensor of IO and compares features / embedding / logits with the C++
outputs stored in IO. The architecture comes from IO's metadata (timm_name, arch_overrides JSON,
num_classes). Exit code 0 when every max abs difference is within --tolerance, 1 otherwise.
"""
import argparse
import json
import sys

import torch
import timm
from safetensors import safe_open


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="safetensors exported by the C++ model")
    p.add_argument("--io", required=True, help="safetensors with input/features/embedding/logits + metadata")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max abs difference allowed (default 1e-4)")
    args = p.parse_args()
    torch.set_num_threads(1)
    with safe_open(args.io, framework="pt") as f:
        meta = f.metadata()
        io = {k: f.get_tensor(k) for k in f.keys()}
    num_classes = int(meta["num_classes"])
    kwargs = json.loads(meta["arch_overrides"] or "{}")
    model = timm.create_model(meta["timm_name"], pretrained=True, num_classes=num_classes,
                              pretrained_cfg_overlay=dict(file=args.weights, num_classes=num_classes,
                                                          custom_load=False), **kwargs)
    model.eval()
    with torch.no_grad():
        features = model.forward_features(io["input"])
        embedding = model.forward_head(features, pre_logits=True)
        logits = model.forward_head(features)
    ok = True
    for name, ours in (("features", features), ("embedding", embedding), ("logits", logits)):
        theirs = io[name]
        if ours.shape != theirs.shape:
            print(f"{name}: timm shape {tuple(ours.shape)} vs C++ {tuple(theirs.shape)}")
            ok = False
            continue
        diff = (ours - theirs).abs().max().item()
        print(f"{meta['timm_name']} {name}: max abs diff {diff:.3g}")
        ok = ok and diff <= args.tolerance
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
