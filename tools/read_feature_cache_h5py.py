#!/usr/bin/env python3
"""Reads a local-feature cache folder (docs/formats.md, "Local-feature cache") with plain h5py.

Prints one line per image, sorted by image_id: `<image_id> <keypoints> <width> <height> <sum of
descriptors>`, the figures the matching tests compare with the C++ reader.

Usage: $WILDREID_PYTHON tools/read_feature_cache_h5py.py WORK/local-features-<hash>
"""
import glob
import os
import sys

import h5py


def main():
    folder = sys.argv[1]
    text = open(os.path.join(folder, "extractor.txt")).read().strip()
    rows = {}
    for part in sorted(glob.glob(os.path.join(folder, "part-*.h5"))):
        with h5py.File(part, "r") as f:
            assert f.attrs["format"] == b"wildreid-local-features" or f.attrs["format"] == "wildreid-local-features"
            extractor = f.attrs["extractor"]
            extractor = extractor.decode() if isinstance(extractor, bytes) else extractor
            assert extractor == text, (part, extractor, text)
            for i, image_id in enumerate(f["image_id"][:]):
                o, n = int(f["offset"][i]), int(f["count"][i])
                desc = f["descriptors"][o:o + n].astype("float64")
                assert f["keypoints"][o:o + n].shape == (n, 2)
                rows[image_id.decode()] = (n, int(f["width"][i]), int(f["height"][i]), float(desc.sum()))
    for image_id in sorted(rows):
        n, w, h, s = rows[image_id]
        print(f"{image_id} {n} {w} {h} {s:.4f}")


if __name__ == "__main__":
    main()
