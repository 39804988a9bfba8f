#!/usr/bin/env python3
"""Baseline for bench/embed: what `trainer embed` does, the usual Python way.

Reads the JPEG bytes of a wildreid shard set with h5py (tools/torchvision_pipeline.py's reader),
decodes with PIL, applies timm's eval transform (resize the shorter side to img_size / crop_pct,
centre crop, normalise; bilinear like ours) in a DataLoader with --workers worker processes, and
runs timm's forward_features + forward_head(pre_logits=True) under torch.no_grad with
torch.set_num_threads(--threads) in the main process. Prints two summary lines:
  RESULT images=N wall_s=W           decode + transform + forward over the records (end to end)
  RESULT_FORWARD images=N wall_s=W   forward only, on batches already in memory
The model has random weights (timm create_model(pretrained=False)): speed does not depend on them.
"""
import argparse
import time

import timm
import torch
from timm.data import create_transform, resolve_data_config

from torchvision_pipeline import ShardImages, shard_records, worker_init


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", required=True, help="shard set folder")
    p.add_argument("--split", default="", help="split to embed ('' = every record)")
    p.add_argument("--arch", default="convnext_tiny", help="timm architecture")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--crop-pct", type=float, default=0.875)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads for the forward")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker processes (decode)")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    model = timm.create_model(args.arch, pretrained=False, num_classes=0).eval()
    config = resolve_data_config({"input_size": (3, args.img_size, args.img_size), "crop_pct": args.crop_pct,
                                  "interpolation": "bilinear"}, model=model)
    transform = create_transform(**config, is_training=False)
    records = shard_records(args.shards, args.split)
    loader = torch.utils.data.DataLoader(ShardImages(records, len(records), transform), batch_size=args.batch_size,
                                         num_workers=args.workers,
                                         worker_init_fn=worker_init)

    def embed(x):
        return model.forward_head(model.forward_features(x), pre_logits=True)

    with torch.no_grad():
        embed(torch.randn(2, 3, args.img_size, args.img_size))  # one warm-up pass, as ours loads first
        start, images, batches = time.perf_counter(), 0, []
        for x in loader:
            embed(x)
            images += x.shape[0]
            if len(batches) < 4:
                batches.append(x)
        wall = time.perf_counter() - start
        print(f"RESULT images={images} wall_s={wall:.3f}", flush=True)
        start, forwarded = time.perf_counter(), 0
        while forwarded < images:
            for x in batches:
                embed(x)
                forwarded += x.shape[0]
                if forwarded >= images:
                    break
        print(f"RESULT_FORWARD images={forwarded} wall_s={time.perf_counter() - start:.3f}", flush=True)


if __name__ == "__main__":
    main()
