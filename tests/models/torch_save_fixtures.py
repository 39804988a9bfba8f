#!/usr/bin/env python3
"""Writes one safetensors state dict again in the torch.save forms users hand to `trainer`
(torch_save_weights_test.cpp compares what C++ reads back with the safetensors original):

  OUT/plain.bin    torch.save(state_dict)                     (pytorch_model.bin, as the hub ships)
  OUT/wrapped.pth  torch.save({"model": sd, "epoch": 3, "optimizer": {...}})   (a training script's)
  OUT/ddp.pth      torch.save({"state_dict": {"module." + k: v}})   (saved from a DDP-wrapped model)
  OUT/half.bin     the state dict in bfloat16 (a half-precision release)
  OUT/legacy.pth   torch.save(sd, _use_new_zipfile_serialization=False)   (the pre-1.6 format)
  OUT/list.pth     torch.save([tensor])                        (not a state dict at all)

Usage: python torch_save_fixtures.py --weights W.safetensors --out DIR
"""
import argparse
import os

import torch
from safetensors.torch import load_file


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="safetensors state dict to re-save")
    p.add_argument("--out", required=True, help="folder for the torch.save files")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sd = load_file(args.weights)
    out = lambda name: os.path.join(args.out, name)
    torch.save(sd, out("plain.bin"))
    some = next(iter(sd.values()))
    torch.save({"model": sd, "epoch": 3, "optimizer": {"state": {0: {"exp_avg": torch.zeros_like(some)}},
                                                      "param_groups": [{"lr": 1e-3}]}}, out("wrapped.pth"))
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, out("ddp.pth"))
    torch.save({k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in sd.items()}, out("half.bin"))
    torch.save(sd, out("legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save([some], out("list.pth"))


if __name__ == "__main__":
    main()
