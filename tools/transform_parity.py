#!/usr/bin/env python3
"""Oracle for tests/data/test_transform_parity.cpp: applies torchvision's PIL-path functional
ops (the ones ColorJitter, RandomRotation and AutoAugment use, with AutoAugment's arguments) and
the eval Resize + CenterCrop to one image, writing one PNG per op so the C++ test can compare
its own ops with them.

usage: transform_parity.py INPUT.png OUTPUT_DIR
"""
import math
import os
import sys

from PIL import Image
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    img = Image.open(src).convert("RGB")
    nearest = InterpolationMode.NEAREST
    ops = {
        "posterize": lambda i: F.posterize(i, 4),
        "solarize": lambda i: F.solarize(i, 113.33333),
        "equalize": F.equalize,
        "autocontrast": F.autocontrast,
        "invert": F.invert,
        "brightness": lambda i: F.adjust_brightness(i, 1.3),
        "contrast": lambda i: F.adjust_contrast(i, 0.6),
        "saturation": lambda i: F.adjust_saturation(i, 1.5),
        "sharpness": lambda i: F.adjust_sharpness(i, 1.7),
        "hue": lambda i: F.adjust_hue(i, 0.1),
        "rotate": lambda i: F.rotate(i, 17.0, interpolation=nearest),
        "shear_x": lambda i: F.affine(i, angle=0.0, translate=[0, 0], scale=1.0,
                                      shear=[math.degrees(math.atan(0.2)), 0.0],
                                      interpolation=nearest, center=[0, 0]),
        "eval": lambda i: F.center_crop(F.resize(i, 73), 64),
    }
    os.makedirs(out, exist_ok=True)
    for name, op in ops.items():
        op(img.copy()).save(os.path.join(out, name + ".png"))


if __name__ == "__main__":
    main()
