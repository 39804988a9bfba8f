#!/usr/bin/env python3
"""Baseline half of bench/matching_networks: kornia 0.9's LightGlue and ALIKED on CPU.

Builds the network with seeded random weights (as tools/kornia_matching_oracle.py does), writes the
weights and the inputs to --out so the C++ side runs the very same model on the very same data,
then times kornia with --threads intra-op threads after --warmup untimed rounds and prints one line
per figure: `<name> <items per wall second> <items per process CPU-second>`.

  lightglue --out DIR --pairs P --keypoints K [--adaptive] [--features aliked|sift]
      DIR/lightglue.safetensors, DIR/inputs.safetensors (kpts0, desc0, kpts1, desc1 [P, K, *], size [2]);
      figures `pair-by-pair` (one pair per call, as wildlife-tools feeds kornia-style matchers) and
      `batched` (all P pairs stacked in one call; kornia batches only without point pruning)
  aliked --out DIR --variant V --images N --height H --width W --max-keypoints K
      DIR/aliked.safetensors, DIR/images.safetensors (images [N, 3, H, W]); figure `per-image`
"""
import argparse
import math
import os
import sys
import time

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kornia_matching_oracle as oracle  # noqa: E402
from kornia.feature import ALIKED, LightGlue  # noqa: E402


def timed(fn, items, warmup, iters):
    for _ in range(warmup):
        fn()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return items * iters / wall, items * iters / max(cpu, 1e-9)


def bench_lightglue(a):
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    sift = a.features == "sift"
    model = LightGlue(None, input_dim=128, add_scale_ori=sift, depth_confidence=0.95 if a.adaptive else -1,
                      width_confidence=0.99 if a.adaptive else -1).eval()
    oracle.save_weights(model, a.out, "lightglue")
    size = (640, 480)
    f0 = oracle.random_features(gen, a.keypoints, size, 128, sift)
    f0 = {k: (v.expand(a.pairs, *v.shape[1:]).clone() if k != "image_size" else v) for k, v in f0.items()}
    pairs = [oracle.related(gen, {k: v[i:i + 1] for k, v in f0.items()}, size, a.keypoints // 2, sift)
             for i in range(a.pairs)]
    f1 = {k: torch.cat([p[k][:, :a.keypoints] if k != "image_size" else p[k] for p in pairs]) for k in pairs[0]}
    f1["image_size"] = f0["image_size"].expand(a.pairs, 2)
    f0["image_size"] = f0["image_size"].expand(a.pairs, 2)
    inputs = {"kpts0": f0["keypoints"], "desc0": f0["descriptors"], "kpts1": f1["keypoints"],
              "desc1": f1["descriptors"], "size": torch.tensor([float(size[0]), float(size[1])])}
    if sift:
        inputs.update(scales0=f0["scales"], oris0=f0["oris"], scales1=f1["scales"], oris1=f1["oris"])
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(a.out, "inputs.safetensors"))

    def one(i):
        return {k: (v[i:i + 1] if v.dim() > 0 else v) for k, v in f0.items()}, \
               {k: (v[i:i + 1] if v.dim() > 0 else v) for k, v in f1.items()}

    singles = [one(i) for i in range(a.pairs)]
    with torch.inference_mode():
        def pair_by_pair():
            for s0, s1 in singles:
                model({"image0": s0, "image1": s1})

        def batched():
            model({"image0": f0, "image1": f1})

        for name, fn in (("pair-by-pair", pair_by_pair), ("batched", batched)):
            wall, cpu = timed(fn, a.pairs, a.warmup, a.iters)
            print(f"{name} {wall:.4f} {cpu:.4f}", flush=True)


def bench_aliked(a):
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    model = ALIKED(a.variant, max_num_keypoints=a.max_keypoints, detection_threshold=0.0).eval()
    oracle.save_weights(model, a.out, "aliked")
    images = torch.cat([oracle.smooth_image(gen, a.height, a.width) for _ in range(a.images)])
    save_file({"images": images.contiguous()}, os.path.join(a.out, "images.safetensors"))
    with torch.inference_mode():
        def per_image():
            for i in range(a.images):
                model(images[i:i + 1])

        wall, cpu = timed(per_image, a.images, a.warmup, a.iters)
        print(f"per-image {wall:.4f} {cpu:.4f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    lg = sub.add_parser("lightglue")
    lg.add_argument("--pairs", type=int, default=8)
    lg.add_argument("--keypoints", type=int, default=256)
    lg.add_argument("--features", choices=["aliked", "sift"], default="aliked")
    lg.add_argument("--adaptive", action="store_true")
    al = sub.add_parser("aliked")
    al.add_argument("--variant", default="aliked-n16")
    al.add_argument("--images", type=int, default=4)
    al.add_argument("--height", type=int, default=384)
    al.add_argument("--width", type=int, default=512)
    al.add_argument("--max-keypoints", type=int, default=256)
    for s in (lg, al):
        s.add_argument("--out", required=True)
        s.add_argument("--threads", type=int, default=2)
        s.add_argument("--iters", type=int, default=2)
        s.add_argument("--warmup", type=int, default=1)
        s.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    bench_lightglue(a) if a.what == "lightglue" else bench_aliked(a)


if __name__ == "__main__":
    main()
