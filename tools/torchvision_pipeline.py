#!/usr/bin/env python3
"""Baseline for bench/data_pipeline: the same train recipe done the usual PyTorch way.

Reads the JPEG bytes of a wildreid shard set straight from the HDF5 files with h5py (each
DataLoader worker opens its own handles, never across fork), decodes with PIL and applies
torchvision transforms: RandomResizedCrop(size) + RandomHorizontalFlip + RandomRotation(15) +
ColorJitter(0.4, 0.4, 0.4, 0.1) + AutoAugment(ImageNet) + ToTensor/ToDtype + Normalize +
RandomErasing(0.5). Workers run with torch.set_num_threads(1). Prints one summary line:
  RESULT images=N wall_s=W cpu_s=C
where cpu_s counts this process and its (reaped) worker processes.
"""
import argparse
import glob
import io
import os
import resource
import sys
import time

import h5py
import numpy as np
import torch
from PIL import Image


def shard_records(shard_dir, split):
    """(shard path, offset, length) of every record of `split` ('' = all), in shard order."""
    records = []
    paths = sorted(glob.glob(os.path.join(shard_dir, "shard-*.h5")))
    if not paths:
        sys.exit(f"torchvision_pipeline: no shard-*.h5 in {shard_dir}")
    for path in paths:
        with h5py.File(path, "r") as f:
            offsets = f["offsets"][:]
            lengths = f["lengths"][:]
            splits = f["split"][:] if split else None
        for i in range(len(offsets)):
            if split and splits[i].rstrip(b"\0").decode() != split:
                continue
            records.append((path, int(offsets[i]), int(lengths[i])))
    return records


def build_transform(size, api):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    if api == "v2":
        from torchvision.transforms import v2 as T
        return T.Compose([
            T.RandomResizedCrop(size, antialias=True), T.RandomHorizontalFlip(),
            T.RandomRotation(15), T.ColorJitter(0.4, 0.4, 0.4, 0.1),
            T.AutoAugment(T.AutoAugmentPolicy.IMAGENET), T.PILToTensor(),
            T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std), T.RandomErasing(0.5)])
    import torchvision.transforms as T
    return T.Compose([
        T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.RandomRotation(15),
        T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.AutoAugment(T.AutoAugmentPolicy.IMAGENET),
        T.ToTensor(), T.Normalize(mean, std), T.RandomErasing(0.5)])


class ShardImages(torch.utils.data.Dataset):
    def __init__(self, records, count, transform):
        self.records, self.count, self.transform = records, count, transform
        self.files = {}  # opened lazily inside each worker process

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        path, offset, length = self.records[i % len(self.records)]
        f = self.files.get(path)
        if f is None:
            f = self.files[path] = h5py.File(path, "r")
        data = f["images"][offset:offset + length].tobytes()
        image = Image.open(io.BytesIO(data)).convert("RGB")
        return self.transform(image)


def worker_init(_):
    torch.set_num_threads(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", required=True, help="shard set directory (manifest.json + shard-*.h5)")
    p.add_argument("--split", default="train", help="split to read; '' = every record (default: train)")
    p.add_argument("--size", type=int, default=384, help="output side in pixels (default: 384)")
    p.add_argument("--threads", type=int, default=1, help="DataLoader worker processes (default: 1)")
    p.add_argument("--images", type=int, default=300, help="images to produce (default: 300)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    p.add_argument("--api", choices=["v1", "v2"], default="v1", help="torchvision transforms API (default: v1)")
    args = p.parse_args()
    torch.set_num_threads(1)
    records = shard_records(args.shards, args.split)
    if not records:
        sys.exit(f"torchvision_pipeline: split '{args.split}' is empty in {args.shards}")
    dataset = ShardImages(records, args.images, build_transform(args.size, args.api))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.threads,
        worker_init_fn=worker_init, prefetch_factor=2, persistent_workers=False)
    start_wall = time.perf_counter()
    start_cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    images = 0
    for batch in loader:
        assert batch.dtype == torch.float32 and batch.shape[1:] == (3, args.size, args.size)
        images += batch.shape[0]
    del loader  # workers exit and are reaped, so RUSAGE_CHILDREN includes them
    wall = time.perf_counter() - start_wall
    end_self, end_children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(e.ru_utime + e.ru_stime - s.ru_utime - s.ru_stime
              for s, e in zip(start_cpu, (end_self, end_children)))
    print(f"RESULT images={images} wall_s={wall:.4f} cpu_s={cpu:.4f}")


if __name__ == "__main__":
    main()
