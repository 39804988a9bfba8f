#!/usr/bin/env python3
"""Baseline half of bench/model_step: forward+backward images/s of a timm model.

Mirrors model_step's C++ loop exactly (training mode, random input and labels, cross-entropy, grads
cleared each step, no optimizer, same warm-up/iterations/threads) and prints two numbers: images per wall-clock second and images per process CPU-second.
"""
import argparse
import time

import torch
import timm


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--arch", required=True, help="timm model name")
    p.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    p.add_argument("--size", type=int, default=224, help="input side (default 224)")
    p.add_argument("--iters", type=int, default=3, help="timed iterations (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations (default 1)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (default fp32)")
    p.add_argument("--channels-last", action="store_true", help="model and input channels-last (NHWC)")
    p.add_argument("--trace", help="profile one more step and write its Chrome trace here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    kwargs = {"img_size": a.size} if not a.arch.startswith("convnext") else {}
    model = timm.create_model(a.arch, **kwargs).to(a.device).train()
    x = torch.randn(a.batch, 3, a.size, a.size, device=a.device)
    y = torch.randint(0, 1000, (a.batch,), device=a.device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    first = next(model.parameters())

    def step():
        model.zero_grad(set_to_none=True)
        with torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.bf16):
            out = model(x)
        torch.nn.functional.cross_entropy(out.float(), y).backward()
        first.grad.sum().item()

    for _ in range(a.warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.iters):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if a.trace:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
        prof.export_chrome_trace(a.trace)
    print(f"{a.batch * a.iters / wall:.4f} {a.batch * a.iters / cpu:.4f}")


if __name__ == "__main__":
    main()
