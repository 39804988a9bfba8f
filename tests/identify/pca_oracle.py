#!/usr/bin/env python3
"""scikit-learn's StandardScaler + PCA(n_components=fraction) as the oracle for identify's
scaler and PCA. Reads a JSON list of problems {"x": rows, "fraction"} on stdin; prints a JSON
list with, for each, the scaler's mean and scale, the number of components kept, the explained
variance ratio of the kept components and the components themselves (rows)."""
import json
import sys

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

answers = []
for problem in json.load(sys.stdin):
    x = np.array(problem["x"], dtype=np.float64)
    scaler = StandardScaler().fit(x)
    pca = PCA(n_components=problem["fraction"], svd_solver="full").fit(scaler.transform(x))
    answers.append({"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
                    "components": int(pca.n_components_),
                    "explained": float(pca.explained_variance_ratio_.sum()),
                    "vectors": pca.components_.tolist()})
print(json.dumps(answers))
