#!/usr/bin/env python3
"""Parity fixtures for the C++ models: timm is the oracle.

For each case below this creates a timm model (small config via create_model kwargs), perturbs its
weights randomly (so layer-scale gammas, biases and norms are not at their trivial init values and
every path contributes to the output), and writes two files into tests/fixtures/models/:

  <out_name>.weights.safetensors  the state dict with timm's names (what `trainer forward` loads)
  <out_name>.io.safetensors       `input` (NCHW float32) and timm's `features` (forward_features),
                                  `embedding` (forward_head pre_logits=True) and `logits`; metadata
                                  holds timm_name, arch_overrides (JSON kwargs, num_classes removed)
                                  and num_classes, which the C++ parity test uses to build the model.

Everything is seeded, so a rerun regenerates identical files for the same timm version. Keep cases
tiny (a few hundred KB): the files are committed.

Usage: $WILDREID_PYTHON tools/make_timm_fixtures.py [--out-dir DIR] [--only NAME ...]
"""
import argparse
import json
import os
import sys

import torch
import timm
from safetensors.torch import save_file


def make_fixture(timm_name, timm_kwargs, input_shape, out_name, out_dir, seed=0,
                 state_dict_transform=None, prepare_model=None):
    """Writes <out_name>.weights.safetensors and <out_name>.io.safetensors (see module doc).

    state_dict_transform(state_dict) -> state_dict may rewrite the saved weights' keys (e.g. to an
    older timm layout) while the outputs still come from the timm model itself.
    prepare_model(model) may change the perturbed model before the outputs are computed (e.g. set
    BatchNorm running statistics, which are buffers and not perturbed above).
    """
    torch.manual_seed(seed)
    kwargs = dict(timm_kwargs)
    num_classes = int(kwargs.pop("num_classes", 1000))
    model = timm.create_model(timm_name, pretrained=False, num_classes=num_classes, **kwargs)
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    x = torch.randn(*input_shape, generator=gen)
    if prepare_model is not None:
        prepare_model(model)
    with torch.no_grad():
        features = model.forward_features(x)
        embedding = model.forward_head(features, pre_logits=True)
        logits = model.forward_head(features)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if state_dict_transform is not None:
        state = state_dict_transform(state)
    meta = {
        "timm_name": timm_name,
        "arch_overrides": json.dumps(kwargs, sort_keys=True),
        "num_classes": str(num_classes),
        "timm_version": timm.__version__,
        "torch_version": torch.__version__,
    }
    os.makedirs(out_dir, exist_ok=True)
    save_file(state, os.path.join(out_dir, out_name + ".weights.safetensors"), metadata={"format": "pt"})
    io = {"input": x.contiguous(), "features": features.contiguous(), "embedding": embedding.contiguous(),
          "logits": logits.contiguous()}
    save_file(io, os.path.join(out_dir, out_name + ".io.safetensors"), metadata=meta)
    params = sum(p.numel() for p in model.parameters())
    print(f"{out_name}: {timm_name} {kwargs} params={params} features={tuple(features.shape)}")


def swin_to_old_layout(timm_name, timm_kwargs):
    """state_dict_transform writing a current-layout timm Swin state dict in timm <= 0.9.5's layout
    (the MegaDescriptor-L-384 checkpoint's): the inverse of timm's swin checkpoint_filter_fn.
    PatchMerging moves from the start of stage N (N >= 1) to the end of stage N-1, `head.fc.` becomes
    `head.`, and the then-persistent `relative_position_index` / `attn_mask` buffers are added with
    the values timm computes for this configuration."""
    import re

    def transform(state):
        kwargs = {k: v for k, v in timm_kwargs.items() if k != "num_classes"}
        model = timm.create_model(timm_name, pretrained=False, **kwargs)
        out = {}
        for k, v in state.items():
            m = re.match(r"^layers\.(\d+)\.downsample\.(.*)$", k)
            if m:
                k = f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}"
            elif k.startswith("head.fc."):
                k = "head." + k[len("head.fc."):]
            out[k] = v
        for name, buf in model.named_buffers():
            if name.endswith("relative_position_index") or name.endswith("attn_mask"):
                out[name] = buf.detach().contiguous()
        return out
    return transform


def randomize_batchnorm_stats(model):
    """prepare_model: random running mean/var in every BatchNorm, so inference-mode BN is tested."""
    gen = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))


SWIN_MICRO = dict(img_size=56, embed_dim=16, depths=(2, 2, 1), num_heads=(2, 4, 4), window_size=4, num_classes=10)

# One entry per fixture: (out_name, timm_name, timm_kwargs, input_shape[, make_fixture extras]).
# Add cases here.
CASES = [
    # ConvNeXt-atto's block type (conv_mlp: LayerNorm2d + 1x1-conv MLP), shrunk.
    ("convnext_atto_tiny", "convnext_atto",
     dict(depths=(1, 1, 2, 1), dims=(16, 32, 48, 80), num_classes=10), (2, 3, 64, 64)),
    # ConvNeXt-tiny's block type (channels-last LayerNorm + Linear MLP), shrunk.
    ("convnext_tiny_tiny", "convnext_tiny",
     dict(depths=(2, 1, 2, 1), dims=(16, 32, 48, 64), num_classes=7), (2, 3, 64, 64)),
    # A small ViT: 8-pixel patches on 32x32 input (16 tokens + class token).
    ("vit_tiny", "vit_tiny_patch16_224",
     dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4, num_classes=10), (2, 3, 32, 32)),
    # A 3-stage Swin on 56x56, window 4: stages 0 (14x14) and 1 (7x7) shift on padded maps, stage 2
    # (3x3) clamps its window to 3 and does not shift.
    ("swin_micro", "swin_tiny_patch4_window7_224", SWIN_MICRO, (2, 3, 56, 56)),
    # The same network saved in timm <= 0.9.5's key layout (MegaDescriptor-L-384's).
    ("swin_micro_legacy", "swin_tiny_patch4_window7_224", SWIN_MICRO, (2, 3, 56, 56),
     dict(state_dict_transform=swin_to_old_layout("swin_tiny_patch4_window7_224", SWIN_MICRO))),
    # maxvit_tiny_tf_224's blocks shrunk, at 96x96: window = grid = 3, 'same' stride-2 padding,
    # shortcuts that keep (stage 0, 1) and change (2, 3) the width; BatchNorm stats randomised.
    ("maxvit_tiny_tf_micro", "maxvit_tiny_tf_224",
     dict(img_size=96, embed_dim=(16, 16, 24, 32), depths=(2, 1, 1, 1), stem_width=16, head_hidden_size=32,
          transformer_dim_head=8, num_classes=10), (2, 3, 96, 96),
     dict(prepare_model=randomize_batchnorm_stats)),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "fixtures", "models"),
                        help="output folder (default: tests/fixtures/models)")
    parser.add_argument("--only", nargs="*", default=None, help="only these fixture names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = {c[0] for c in CASES}
    for n in args.only or []:
        if n not in names:
            sys.exit(f"make_timm_fixtures: unknown case '{n}'; known: {sorted(names)}")
    for out_name, timm_name, kwargs, shape, *extra in CASES:
        if args.only and out_name not in args.only:
            continue
        make_fixture(timm_name, kwargs, shape, out_name, args.out_dir, **(extra[0] if extra else {}))


if __name__ == "__main__":
    main()
