"""Baseline for bench/train_step: the same training step in Python timm + torch DDP.

Launched with `torchrun --nproc_per_node N tools/ddp_train_step_baseline.py ...` (gloo backend,
CPU). Same model (timm name, num_classes, img size), same per-rank batch of random images, same
loss (cross-entropy) and optimizer (AdamW, fused when torch supports it on CPU), same thread
count. Prints on rank 0: "<label> images_per_s <value>".
"""
import argparse
import os
import time

import timm
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="convnext_atto", help="timm model name (default convnext_atto)")
    p.add_argument("--img", type=int, default=64, help="image side (default 64)")
    p.add_argument("--batch", type=int, default=16, help="images per rank per step (default 16)")
    p.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--classes", type=int, default=100, help="classifier width (default 100)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank (default 1)")
    p.add_argument("--label", default="python_timm_ddp", help="name printed before the figure")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    torch.manual_seed(0)
    model = timm.create_model(a.arch, pretrained=False, num_classes=a.classes, img_size=a.img) \
        if "vit" in a.arch else timm.create_model(a.arch, pretrained=False, num_classes=a.classes)
    model.train()
    if distributed:
        model = DDP(model)
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(a.batch, 3, a.img, a.img)
    labels = torch.randint(0, a.classes, (a.batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        loss = loss_fn(model(images), labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(a.warmup):
        step()
    if distributed:
        dist.barrier()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    if distributed:
        dist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        print(f"{a.label} images_per_s {a.batch * a.steps * world / seconds:.2f}  "
              f"(world {world}, {a.threads} thread(s)/rank, batch {a.batch}/rank, {a.arch} {a.img}px)")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
