#!/usr/bin/env python3
"""Read a wildreid shard set with plain h5py + numpy, no project code (docs/formats.md shows
this file verbatim, and tests/data run it). Prints one JSON line per record: its columns, the
byte count, zlib's CRC32 of the JPEG bytes, and whether the stored CRC32C matches (checked with
a pure-Python CRC32C so nothing beyond the standard library, numpy and h5py is needed).

usage: read_shard_h5py.py SHARD_DIR
"""
import json
import sys
import zlib
from pathlib import Path

import h5py

_TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _TABLE.append(c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def read_shard_set(shard_dir):
    shard_dir = Path(shard_dir)
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    for entry in manifest["shards"]:
        with h5py.File(shard_dir / entry["file"], "r") as f:
            assert f.attrs["schema_version"] == 1
            images = f["images"]          # 1-D uint8: all JPEGs back to back
            offsets = f["offsets"][:]     # int64
            lengths = f["lengths"][:]     # int64
            labels = f["label"][:]        # int64, -1 = not in the label map
            crcs = f["crc32c"][:]         # uint32
            columns = {name: [v.decode("utf-8") for v in f[name][:]]
                       for name in ("image_id", "identity", "species", "dataset",
                                    "orientation", "date", "split")}
            for i in range(len(offsets)):
                jpeg = images[offsets[i]:offsets[i] + lengths[i]].tobytes()
                record = {name: values[i] for name, values in columns.items()}
                record.update(label=int(labels[i]), nbytes=len(jpeg),
                              crc32=zlib.crc32(jpeg), crc_ok=crc32c(jpeg) == int(crcs[i]),
                              jpeg=jpeg[:2] == b"\xff\xd8")
                yield record


if __name__ == "__main__":
    for rec in read_shard_set(sys.argv[1]):
        print(json.dumps(rec, sort_keys=True))
