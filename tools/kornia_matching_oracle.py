#!/usr/bin/env python3
"""Oracle for the native ALIKED and LightGlue of matching/: kornia 0.9.0 is the reference.

Builds kornia's ALIKED or LightGlue with seeded random weights (BatchNorm statistics, biases and the
confidence heads perturbed so every path contributes), saves the weights both as a torch.save file
(`.pth`, what the published checkpoints are) and as safetensors, runs kornia on seeded inputs in
fp32 on CPU, and writes the inputs and kornia's outputs to one safetensors file that the C++ tests
(tests/matching/) compare against. Nothing is downloaded.

  aliked    --variant aliked-n16 --out DIR [--max-keypoints K] [--threshold T] [--size H W]
            DIR/aliked.pth, DIR/aliked.safetensors, DIR/aliked_io.safetensors:
            image [1,3,H,W]; score_map, feature_map (dense maps); keypoints [N,2] (pixels, x y),
            descriptors [N,D], scores [N]
  lightglue --features aliked|sift --out DIR [--adaptive] [--filter-threshold F]
            DIR/lightglue.pth, DIR/lightglue.safetensors, DIR/lightglue_io.safetensors:
            per pair p: kpts0_p, desc0_p, size0_p ([2] = W H), kpts1_p, desc1_p, size1_p
            (+ scales/oris for sift), and kornia's matches0_p, mscores0_p, stop_p, and
            log_assignment_p when point pruning is off. Metadata: pairs, features, adaptive.

  all       --out DIR: the set tests/matching uses, one subfolder per case, in one Python process

Usage: $WILDREID_PYTHON tools/kornia_matching_oracle.py aliked --variant aliked-n16 --out /tmp/x
"""
import argparse
import math
import os

import torch
from safetensors.torch import save_file

from kornia.feature import ALIKED, LightGlue


def save_weights(model, out, stem):
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(out, stem + ".pth"))
    save_file(state, os.path.join(out, stem + ".safetensors"))


def smooth_image(gen, h, w):
    """A textured RGB image in [0, 1]: blobs at several scales, so the score map has clear maxima."""
    img = torch.zeros(1, 3, h, w)
    for cells in (4, 9, 23, 61):
        coarse = torch.rand(1, 3, cells, max(2, cells * w // h), generator=gen)
        img += torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    img = img - img.amin()
    return (img / img.amax()).contiguous()


def run_aliked(args):
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    model = ALIKED(args.variant, max_num_keypoints=args.max_keypoints, detection_threshold=args.threshold)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                module.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=gen))
                module.bias.copy_(0.1 * torch.randn(n, generator=gen))
        for name, p in model.named_parameters():
            if name.endswith("offset_conv.bias") or name.endswith("offset_conv.2.bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))  # non-trivial deformable offsets
        model.desc_head.agg_weights.copy_(torch.randn(model.desc_head.agg_weights.shape, generator=gen) * 0.1)
    model.eval()
    save_weights(model, args.out, "aliked")
    h, w = args.size
    image = smooth_image(gen, h, w)
    with torch.no_grad():
        feature_map, score_map = model.extract_dense_map(image)
        feats = model(image)[0]
    save_file({"image": image, "score_map": score_map.contiguous(), "feature_map": feature_map.contiguous(),
               "keypoints": feats.keypoints.contiguous(), "descriptors": feats.descriptors.contiguous(),
               "scores": feats.keypoint_scores.contiguous()},
              os.path.join(args.out, "aliked_io.safetensors"),
              {"variant": args.variant, "max_keypoints": str(args.max_keypoints), "threshold": str(args.threshold)})
    print(f"aliked {args.variant}: {feats.keypoints.shape[0]} keypoints on {h}x{w}, "
          f"score map range [{score_map.min():.3f}, {score_map.max():.3f}]")


def random_features(gen, n, size, dim, sift):
    w, h = size
    kpts = torch.rand(1, n, 2, generator=gen) * torch.tensor([w - 1.0, h - 1.0])
    desc = torch.nn.functional.normalize(torch.randn(1, n, dim, generator=gen), dim=-1)
    out = {"keypoints": kpts, "descriptors": desc, "image_size": torch.tensor([[w, h]])}
    if sift:
        out["scales"] = 1.0 + 10.0 * torch.rand(1, n, generator=gen)
        out["oris"] = (torch.rand(1, n, generator=gen) * 2 - 1) * math.pi
    return out


def related(gen, base, size, keep, sift):
    """A second keypoint set sharing `keep` points (shifted slightly, descriptors perturbed) with base."""
    n = base["keypoints"].shape[1]
    other = random_features(gen, n + 17, size, base["descriptors"].shape[-1], sift)
    other["keypoints"][:, :keep] = (base["keypoints"][:, :keep] * 0.9 + 3.0).clamp(max=min(size) - 1.0)
    noisy = base["descriptors"][:, :keep] + 0.05 * torch.randn(1, keep, base["descriptors"].shape[-1], generator=gen)
    other["descriptors"][:, :keep] = torch.nn.functional.normalize(noisy, dim=-1)
    if sift:
        other["scales"][:, :keep] = base["scales"][:, :keep]
        other["oris"][:, :keep] = base["oris"][:, :keep]
    return other


def run_lightglue(args):
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    sift = args.features == "sift"
    conf = {"input_dim": 128, "add_scale_ori": sift, "filter_threshold": args.filter_threshold,
            "depth_confidence": 0.95 if args.adaptive else -1, "width_confidence": 0.99 if args.adaptive else -1}
    model = LightGlue(None, **conf)
    with torch.no_grad():
        if args.adaptive:
            # Confidences that rise with depth, low matchability for some points and a peaked similarity: early
            # stopping (after layer 6), point pruning (layers 1-3) and a few dozen matches all happen.
            for i, tc in enumerate(model.token_confidence):
                tc.token[0].weight.mul_(3.0)
                tc.token[0].bias.fill_(2.0 + 0.5 * i)
            for la in model.log_assignment:
                la.matchability.weight.mul_(20.0)
                la.matchability.bias.fill_(1.0)
                la.final_proj.weight.mul_(30.0)
        else:
            # A moderately peaked similarity and high matchability: dozens of matches while the log-assignment
            # entries stay within about -50, where fp32 rounding is far below the 1e-4 the tests allow.
            for la in model.log_assignment:
                la.matchability.bias.fill_(3.0)
                la.final_proj.weight.mul_(2.0)
    model.eval()
    save_weights(model, args.out, "lightglue")
    tensors = {}
    sizes = [((640, 480), (512, 512), 200, 150), ((300, 400), (640, 360), 77, 130), ((256, 256), (256, 256), 256, 256),
             ((500, 375), (375, 500), 40, 1)]
    for p, (size0, size1, n0, n1) in enumerate(sizes):
        f0 = random_features(gen, n0, size0, 128, sift)
        f1 = related(gen, f0, size1, min(n0, n1) // 2, sift) if n1 > 1 else random_features(gen, n1, size1, 128, sift)
        f1 = {k: (v[:, :n1] if k != "image_size" else v) for k, v in f1.items()}
        with torch.no_grad():
            out = model({"image0": f0, "image1": f1})
        for side, f in (("0", f0), ("1", f1)):
            tensors[f"kpts{side}_{p}"] = f["keypoints"][0].contiguous()
            tensors[f"desc{side}_{p}"] = f["descriptors"][0].contiguous()
            tensors[f"size{side}_{p}"] = f["image_size"][0].float()
            if sift:
                tensors[f"scales{side}_{p}"] = f["scales"][0].contiguous()
                tensors[f"oris{side}_{p}"] = f["oris"][0].contiguous()
        tensors[f"matches0_{p}"] = out["matches0"][0].contiguous()
        tensors[f"mscores0_{p}"] = out["matching_scores0"][0].contiguous()
        tensors[f"stop_{p}"] = torch.tensor([out["stop"]])
        if "log_assignment" in out and not args.adaptive:
            tensors[f"log_assignment_{p}"] = out["log_assignment"][0].contiguous()
        print(f"lightglue {args.features} pair {p}: {n0}x{n1} keypoints, {int((out['matches0'][0] > -1).sum())} "
              f"matches, stop after {out['stop']} layers")
    save_file(tensors, os.path.join(args.out, "lightglue_io.safetensors"),
              {"pairs": str(len(sizes)), "features": args.features, "adaptive": str(int(args.adaptive)),
               "filter_threshold": str(args.filter_threshold)})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    a = sub.add_parser("aliked")
    a.add_argument("--variant", default="aliked-n16")
    a.add_argument("--max-keypoints", type=int, default=256)
    a.add_argument("--threshold", type=float, default=0.0)
    a.add_argument("--size", type=int, nargs=2, default=[96, 128], metavar=("H", "W"))
    l = sub.add_parser("lightglue")
    l.add_argument("--features", choices=["aliked", "sift"], default="aliked")
    l.add_argument("--adaptive", action="store_true", help="depth 0.95 / width 0.99 confidence (kornia defaults)")
    l.add_argument("--filter-threshold", type=float, default=0.1)
    for p in (a, l):
        p.add_argument("--out", required=True)
        p.add_argument("--seed", type=int, default=0)
    f = sub.add_parser("all", help="the fixture set of tests/matching in one process: every ALIKED variant "
                       "(top-k), aliked-n16 in threshold mode (capped; mean fallback), LightGlue aliked plain and adaptive, sift adaptive")
    f.add_argument("--out", required=True)
    f.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.what != "all":
        os.makedirs(args.out, exist_ok=True)
        run_aliked(args) if args.what == "aliked" else run_lightglue(args)
        return
    jobs = [(run_aliked, v, dict(variant=v, max_keypoints=64, threshold=0.0, size=[96, 128]))
            for v in ("aliked-t16", "aliked-n16", "aliked-n16rot", "aliked-n32")]
    jobs.append((run_aliked, "aliked-n16-threshold", dict(variant="aliked-n16", max_keypoints=100, threshold=0.5,
                                                          size=[75, 101])))
    jobs.append((run_aliked, "aliked-n16-mean", dict(variant="aliked-n16", max_keypoints=-1, threshold=0.95,
                                                     size=[64, 64])))
    jobs.append((run_lightglue, "lightglue-aliked", dict(features="aliked", adaptive=False, filter_threshold=0.1)))
    jobs.append((run_lightglue, "lightglue-aliked-adaptive", dict(features="aliked", adaptive=True,
                                                                  filter_threshold=0.1)))
    jobs.append((run_lightglue, "lightglue-sift-adaptive", dict(features="sift", adaptive=True, filter_threshold=0.1)))
    for fn, name, kwargs in jobs:
        job = argparse.Namespace(out=os.path.join(args.out, name), seed=args.seed, **kwargs)
        os.makedirs(job.out, exist_ok=True)
        fn(job)


if __name__ == "__main__":
    main()
