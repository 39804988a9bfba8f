#!/usr/bin/env python3
"""numpy / scikit-learn baseline for bench/identify: the identification steps of `trainer
identify` done the way a Python pipeline does them, on the same embeddings file and the same
calibration / query split (given as row indices by the benchmark), with the same thread count.

Steps (each timed, printed as `STEP <name> <seconds>`):
  scaler+pca   StandardScaler + PCA(n_components=0.99) on the six-model concatenation, fitted on
               the database rows, applied to every row; then L2 normalisation of both pipelines
  calibration  per pipeline: cosine of calibration images vs the calibration database (same
               dataset only), top-B shortlist of the priority (concatenated) pipeline, the other
               pipeline's scores on those pairs, IsotonicRegression(out_of_bounds="clip") fitted on
               (score, same individual); calibrated mean, argmax
  query        the same for the query images against the database with the fitted calibrations
Writes the best database row of every query to --out (JSON) so the benchmark can compare answers.

usage: identify_baseline.py --embeddings E.h5 --scenario S.json --out P.json [--shortlist 100]
"""
import argparse
import json
import time

import h5py
import numpy as np
from sklearn.decomposition import PCA
from sklearn.isotonic import IsotonicRegression
from sklearn.preprocessing import StandardScaler


def normalise(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def shortlist(features, queries, database, dataset, top):
    scores = features[queries] @ features[database].T
    scores[dataset[queries][:, None] != dataset[database][None, :]] = -np.inf
    top = min(top, len(database))
    part = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    index = np.take_along_axis(part, order, axis=1)
    return index, np.take_along_axis(scores, index, axis=1)


def pair_scores(features, queries, database, index):
    return np.take_along_axis(features[queries] @ features[database].T, index, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--embeddings", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shortlist", type=int, default=100)
    args = ap.parse_args()
    scenario = json.load(open(args.scenario))
    with h5py.File(args.embeddings, "r") as f:
        dataset = np.array(f["rows/dataset"][()])
        identity = np.array(f["rows/identity"][()])
        single = f["models"][scenario["single"]]["embedding"][()]
        concat = np.concatenate([f["models"][m]["embedding"][()] for m in scenario["concat"]], axis=1)
    database = np.array(scenario["database"])

    t = time.perf_counter()
    scaled = StandardScaler().fit(concat[database]).transform(concat)
    pca = PCA(n_components=0.99).fit(scaled[database])
    pipelines = [normalise(pca.transform(scaled).astype(np.float32)), normalise(single)]
    print(f"STEP scaler+pca {time.perf_counter() - t:.3f}")
    print(f"PCA_COMPONENTS {pca.n_components_}")

    def fused(queries, database, calibrations=None):
        index, priority = shortlist(pipelines[0], queries, database, dataset, args.shortlist)
        raw = [priority, pair_scores(pipelines[1], queries, database, index)]
        valid = np.isfinite(priority)
        if calibrations is None:
            hits = (identity[database][index] == identity[queries][:, None])[valid]
            calibrations = [IsotonicRegression(out_of_bounds="clip").fit(r[valid], hits) for r in raw]
        calibrated = [np.where(valid, c.predict(np.where(valid, r, 0).ravel()).reshape(r.shape), -np.inf)
                      for c, r in zip(calibrations, raw)]
        mean = sum(calibrated) / len(calibrated)
        best = np.argmax(mean, axis=1)
        return database[np.take_along_axis(index, best[:, None], axis=1)[:, 0]], calibrations

    t = time.perf_counter()
    _, calibrations = fused(np.array(scenario["calibration_queries"]), np.array(scenario["calibration_database"]))
    print(f"STEP calibration {time.perf_counter() - t:.3f}")
    t = time.perf_counter()
    best, _ = fused(np.array(scenario["queries"]), database, calibrations)
    print(f"STEP query {time.perf_counter() - t:.3f}")
    json.dump([int(b) for b in best], open(args.out, "w"))


if __name__ == "__main__":
    main()
