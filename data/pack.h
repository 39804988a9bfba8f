// `trainer pack`: metadata CSV(s) + image folders -> a shard set (docs/formats.md). Metadata is
// read and validated first (file:line errors before any image is touched), the seed split and
// label map are computed over all inputs together (labels keyed by dataset + identity, so several
// inputs get disjoint labels), then images are read/validated/re-encoded in parallel batches and
// written in input order into shards inside a staging folder that is renamed into place last.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/metadata.h"

namespace wildreid::data {

struct PackInput {
  std::filesystem::path metadata;
  std::filesystem::path root;  // empty: the CSV's folder
  MetadataFormat format = MetadataFormat::kAuto;
};

struct PackOptions {
  std::vector<PackInput> inputs;
  std::filesystem::path out;
  uint64_t shard_size = 256ull << 20;  // target bytes of image data per shard
  int max_side = 0;                    // 0 keeps original JPEG bytes
  int jpeg_quality = 95;
  int threads = 0;                     // 0: hardware concurrency
  bool skip_bad = false;
  uint64_t seed = 42;
  double val_fraction = 0.2;
  bool overwrite = false;
  bool quiet = false;                  // no progress output
};

struct PackReport {
  Manifest manifest;
  std::vector<std::string> skipped;    // "<path> (<csv>:<line>): <reason>" per skipped record
};

// Throws std::runtime_error (path + reason) on the first bad input unless skip_bad.
PackReport pack_shards(const PackOptions& options);

}  // namespace wildreid::data
