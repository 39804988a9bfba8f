// `trainer inspect DIR`: recounts a shard set from its columns (per split, dataset, species),
// compares the counts with the manifest, and verifies every shard's whole-file CRC32C and every
// record's CRC32C. All failures are collected, each naming its shard, so one run reports them all.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/manifest.h"

namespace wildreid::data {

struct InspectReport {
  Manifest manifest;
  uint64_t records = 0;
  std::map<std::string, uint64_t> split_counts, dataset_counts, species_counts;
  std::map<std::string, std::map<std::string, uint64_t>> dataset_split_counts;  // dataset -> split -> n
  std::vector<std::string> failures;  // empty when everything verified
  bool ok() const { return failures.empty(); }
};

// Throws only when the manifest itself cannot be read; shard problems go to `failures`.
InspectReport inspect_shards(const std::filesystem::path& dir, bool quiet = false);

// The human-readable summary printed by `trainer inspect`.
std::string format_inspect_report(const InspectReport& report);

}  // namespace wildreid::data
