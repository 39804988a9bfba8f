#!/usr/bin/env python3
"""Baseline half of `local_matching --what sift`: SIFT + ratio matching in Python OpenCV.

Reads DIR/p<i>.jpg (i < --images) and DIR/pairs.txt (one "i j" per line), resizes each photo so the
longer side is --size, extracts at most --max-keypoints SIFT keypoints (cv2.SIFT_create) with
RootSIFT descriptors, and matches every pair by brute force: kNN (k = 2) in both directions, a
match kept when it is mutual and passes Lowe's ratio (--ratio), the same rule as the C++ matcher.
cv2.setNumThreads(--threads). Prints `<images/s> <pairs/s> <mean matches per pair>`.
"""
import argparse
import os
import time

import cv2
import numpy as np


def rootsift(d, eps=1e-6):
    d = d / np.maximum(np.abs(d).sum(1, keepdims=True), eps)
    d = np.sqrt(np.maximum(d, eps))
    return (d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), eps)).astype(np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dir", required=True)
    p.add_argument("--images", type=int, required=True)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--max-keypoints", type=int, default=256)
    p.add_argument("--ratio", type=float, default=0.8)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    cv2.setNumThreads(a.threads)
    sift = cv2.SIFT_create(nfeatures=a.max_keypoints)
    t0 = time.perf_counter()
    descs = []
    for i in range(a.images):
        img = cv2.imread(os.path.join(a.dir, f"p{i}.jpg"), cv2.IMREAD_COLOR)
        s = a.size / max(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        _, d = sift.detectAndCompute(gray, None)
        descs.append(rootsift(d[:a.max_keypoints]) if d is not None else np.zeros((0, 128), np.float32))
    extract = a.images / (time.perf_counter() - t0)
    pairs = [tuple(map(int, line.split())) for line in open(os.path.join(a.dir, "pairs.txt"))]
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    t0 = time.perf_counter()
    total = 0
    for i, j in pairs:
        d0, d1 = descs[i], descs[j]
        if len(d0) == 0 or len(d1) < 2:
            continue
        forward = matcher.knnMatch(d0, d1, k=2)
        backward = {m[0].queryIdx: m[0].trainIdx for m in matcher.knnMatch(d1, d0, k=1)}
        total += sum(1 for m in forward if len(m) == 2 and m[0].distance < a.ratio * m[1].distance
                     and backward.get(m[0].trainIdx) == m[0].queryIdx)
    match = len(pairs) / (time.perf_counter() - t0)
    print(f"{extract:.4f} {match:.4f} {total / len(pairs):.4f}")


if __name__ == "__main__":
    main()
