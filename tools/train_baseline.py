#!/usr/bin/env python3
"""Baseline for bench/train_e2e: end-to-end training the way a PyTorch user writes it, on the same
shard set and with the same recipe as `trainer train`.

Launched with `torchrun --nproc_per_node N tools/train_baseline.py --config RECIPE.yaml --set k=v ...`:
it reads the trainer's own YAML recipe and `--set` overrides (the same files and arguments the
trainer gets, so both run one recipe), and uses the keys below; keys it has no use for (run.dir,
checkpoint.*, metrics.*, ...) are ignored.

  data:  h5py Dataset over the shard set's train split (each DataLoader worker opens its own file
         handles, never across fork), PIL decode, torchvision transforms: RandomResizedCrop(size) +
         RandomHorizontalFlip + [RandomRotation(augment.rotation)] + [ColorJitter(augment.*)] +
         [AutoAugment(ImageNet)] + ToTensor + Normalize(the model's mean/std) +
         [RandomErasing(augment.erasing_p)]; DistributedSampler(shuffle, drop_last), DataLoader with
         data.workers worker processes per rank (persistent, prefetch_factor 2).
  model: timm.create_model(model.arch, num_classes = the shard set's label count), DDP over gloo.
  step:  cross-entropy with loss.label_smoothing, AdamW (fused; timm's no-decay groups) with
         warmup + cosine/linear/constant lr per step, clip_grad_norm_(optim.clip_grad_norm),
         train.micro_batch per rank, run.threads torch threads per rank.

Runs train.epochs epochs; the last one is timed (from the barrier before it to the barrier after
it), the ones before are warm-up. Prints on rank 0 one parseable line:
  <label> epoch_images_per_s <value> images <n> seconds <s> data_wait_s <w> ...
where data_wait_s is rank 0's time blocked on the DataLoader in the timed epoch.
"""
import argparse
import io
import json
import math
import os
import sys
import time

import h5py
import numpy as np
import timm
from timm.optim import param_groups_weight_decay
import torch
import torch.distributed as dist
import yaml
from PIL import Image
from torch.nn.parallel import DistributedDataParallel as DDP


def flatten(node, prefix=""):
    out = {}
    for key, value in (node or {}).items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def load_recipe(path, overrides):
    """The trainer's config keys (dotted) from its YAML file plus `key=value` overrides."""
    keys = {}
    if path:
        with open(path) as f:
            keys = flatten(yaml.safe_load(f))
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq:
            sys.exit(f"train_baseline: --set '{item}': expected key=value")
        keys[key] = yaml.safe_load(value) if value else ""
    return keys


class Recipe:
    """The keys this baseline uses, with the trainer's defaults (trainer/train_config.h)."""

    def __init__(self, keys):
        get = lambda k, d: keys.get(k, d) if keys.get(k, d) is not None else d
        self.shards = str(get("data.shards", ""))
        self.split = str(get("data.train_split", "train"))
        self.workers = int(get("data.workers", 2))
        self.augment = bool(get("data.augment", True))
        self.rotation = float(get("augment.rotation", 0.0))
        self.jitter = [float(get(f"augment.{k}", 0.0)) for k in ("brightness", "contrast", "saturation", "hue")]
        self.auto_augment = bool(get("augment.auto_augment", False))
        self.erasing_p = float(get("augment.erasing_p", 0.0))
        self.seed = int(get("run.seed", 42))
        self.threads = int(get("run.threads", 0))
        self.epochs = int(get("train.epochs", 1))
        self.micro_batch = int(get("train.micro_batch", 8))
        self.accumulation = int(get("train.accumulation", 1))
        self.arch = str(get("model.arch", "convnext_atto"))
        self.img_size = int(get("model.img_size", 0))
        self.lr = float(get("optim.lr", 1e-4))
        self.weight_decay = float(get("optim.weight_decay", 0.05))
        self.betas = (float(get("optim.beta1", 0.9)), float(get("optim.beta2", 0.999)))
        self.eps = float(get("optim.eps", 1e-8))
        self.clip = float(get("optim.clip_grad_norm", 0.0))
        self.schedule = str(get("optim.schedule", "cosine"))
        self.warmup_ratio = float(get("optim.warmup_ratio", 0.0))
        self.min_lr = float(get("optim.min_lr", 0.0))
        self.label_smoothing = float(get("loss.label_smoothing", 0.0))
        amp = get("amp", "off")
        if amp not in ("off", False, "fp32"):
            sys.exit("train_baseline: only amp: off is implemented (CPU baseline)")
        if self.accumulation != 1:
            sys.exit("train_baseline: only train.accumulation: 1 is implemented")
        if not self.shards:
            sys.exit("train_baseline: data.shards is empty")


def split_records(shard_dir, split):
    """(shard path, offset, length, label) of every record of `split`, in shard order."""
    with open(os.path.join(shard_dir, "manifest.json")) as f:
        manifest = json.load(f)
    records = []
    for entry in manifest["shards"]:
        path = os.path.join(shard_dir, entry["file"])
        with h5py.File(path, "r") as f:
            offsets, lengths, labels = f["offsets"][:], f["lengths"][:], f["label"][:]
            splits = [v.rstrip(b"\0").decode() for v in f["split"][:]]
        records += [(path, int(offsets[i]), int(lengths[i]), int(labels[i]))
                    for i in range(len(offsets)) if splits[i] == split]
    return records, manifest


def build_transform(r, size, mean, std):
    import torchvision.transforms as T
    steps = [T.RandomResizedCrop(size), T.RandomHorizontalFlip()]
    if r.rotation > 0:
        steps.append(T.RandomRotation(r.rotation))
    if any(v > 0 for v in r.jitter):
        steps.append(T.ColorJitter(*r.jitter))
    if r.auto_augment:
        steps.append(T.AutoAugment(T.AutoAugmentPolicy.IMAGENET))
    steps += [T.ToTensor(), T.Normalize(mean, std)]
    if r.erasing_p > 0:
        steps.append(T.RandomErasing(r.erasing_p))
    return T.Compose(steps)


class ShardDataset(torch.utils.data.Dataset):
    def __init__(self, records, transform):
        self.records, self.transform = records, transform
        self.files = {}  # opened lazily inside each worker process

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        path, offset, length, label = self.records[i]
        f = self.files.get(path)
        if f is None:
            f = self.files[path] = h5py.File(path, "r")
        data = f["images"][offset:offset + length].tobytes()
        image = Image.open(io.BytesIO(data)).convert("RGB")
        return self.transform(image), label


def lr_at(r, step, total):
    """trainer/lr_schedule.cpp, step by step."""
    total = max(total, 1)
    warmup = int(math.floor(r.warmup_ratio * total))
    if step < warmup:
        return r.lr * (step + 1) / (warmup + 1)
    if r.schedule == "constant":
        return r.lr
    progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    if r.schedule == "linear":
        return r.min_lr + (r.lr - r.min_lr) * (1.0 - progress)
    return r.min_lr + (r.lr - r.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="", help="the trainer's YAML recipe")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, as `trainer train --set` (repeatable)")
    p.add_argument("--label", default="python_timm_ddp", help="name printed before the figure")
    a = p.parse_args()
    r = Recipe(load_recipe(a.config, a.set))

    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    threads = r.threads if r.threads > 0 else max(1, (os.cpu_count() or 1) // local_world)
    torch.set_num_threads(threads)
    torch.manual_seed(r.seed + rank)

    records, manifest = split_records(r.shards, r.split)
    if not records:
        sys.exit(f"train_baseline: split '{r.split}' is empty in {r.shards}")
    num_classes = len(manifest["labels"]) if "labels" in manifest else 1 + max(rec[3] for rec in records)
    model = timm.create_model(r.arch, pretrained=False, num_classes=num_classes)
    cfg = model.pretrained_cfg
    size = r.img_size if r.img_size > 0 else cfg["input_size"][-1]
    transform = build_transform(r, size, cfg["mean"], cfg["std"]) if r.augment else None
    if transform is None:
        sys.exit("train_baseline: data.augment: false is not implemented")
    dataset = ShardDataset(records, transform)
    sampler = torch.utils.data.distributed.DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=r.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=r.micro_batch, sampler=sampler, num_workers=r.workers, drop_last=True,
        persistent_workers=r.workers > 0, prefetch_factor=2 if r.workers > 0 else None)

    model.train()
    if distributed:
        model = DDP(model)
    groups = param_groups_weight_decay(model, r.weight_decay)
    try:
        opt = torch.optim.AdamW(groups, lr=r.lr, betas=r.betas, eps=r.eps, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(groups, lr=r.lr, betas=r.betas, eps=r.eps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=r.label_smoothing)
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * r.epochs
    step = 0
    for epoch in range(r.epochs):
        timed = epoch == r.epochs - 1
        sampler.set_epoch(epoch)
        if distributed:
            dist.barrier()
        phases = dict(data_wait=0.0, forward=0.0, backward=0.0, optimizer=0.0)
        start = time.perf_counter()
        batches = iter(loader)
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            t1 = time.perf_counter()
            if batch is None:
                break
            images, labels = batch
            for group in opt.param_groups:
                group["lr"] = lr_at(r, step, total_steps)
            loss = loss_fn(model(images), labels)
            t2 = time.perf_counter()
            loss.backward()  # DDP's gloo allreduce overlaps this and is waited for at its end
            t3 = time.perf_counter()
            if r.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), r.clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            t4 = time.perf_counter()
            step += 1
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                phases[name] += seconds
        if distributed:
            dist.barrier()
        seconds = time.perf_counter() - start
        if timed and rank == 0:
            images = steps_per_epoch * r.micro_batch * world
            print(f"{a.label} epoch_images_per_s {images / seconds:.2f} images {images} seconds {seconds:.2f} "
                  + " ".join(f"{k}_s {v:.2f}" for k, v in phases.items())
                  + f"  ({r.arch} {size}px, world {world}, micro-batch {r.micro_batch}/rank, "
                  f"{threads} torch thread(s)/rank, {r.workers} DataLoader worker(s)/rank)", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
