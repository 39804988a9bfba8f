#!/usr/bin/env python3
"""Read a wildreid embeddings file (trainer embed --out) with plain h5py + numpy, no project
code (docs/formats.md shows this file verbatim, and tests/identify run it). Prints one JSON
object: the file attributes, the rows, and per model its attributes, complete flag, embedding and
(when present) logits with their label names; a complete model's query rows are also ranked
against its database rows by cosine similarity, as `trainer identify` does first.

usage: read_embeddings_h5py.py EMBEDDINGS_H5
"""
import json
import sys

import h5py
import numpy as np


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_embeddings(path):
    with h5py.File(path, "r") as f:
        out = {"format": text(f.attrs["format"]), "schema_version": int(f.attrs["schema_version"]),
               "shards": text(f.attrs["shards"]), "rows": {}, "models": {}}
        for column in ("image_id", "identity", "dataset", "split", "species"):
            out["rows"][column] = [text(v) for v in f["rows"][column][()]]
        out["rows"]["label"] = [int(v) for v in f["rows"]["label"][()]]
        split = np.array(out["rows"]["split"])
        for name, group in f["models"].items():
            model = {key: (text(v) if isinstance(v, (bytes, str)) else v.item()) for key, v in group.attrs.items()}
            model["complete"] = int(group.attrs.get("complete", 0)) == 1
            if not model["complete"]:  # interrupted embed: treat as absent
                out["models"][name] = model
                continue
            embedding = group["embedding"][()].astype(np.float32)
            model["embedding"] = embedding.tolist()
            if "logits" in group:
                model["logits"] = group["logits"][()].tolist()
                model["label_names"] = [text(v) for v in group["label_names"][()]]
            unit = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
            query, database = np.where(split == "query")[0], np.where(split != "query")[0]
            if len(query) and len(database):
                best = (unit[query] @ unit[database].T).argmax(axis=1)
                model["nearest_database_row"] = database[best].tolist()
            out["models"][name] = model
        return out


if __name__ == "__main__":
    json.dump(read_embeddings(sys.argv[1]), sys.stdout)
    print()
