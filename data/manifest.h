// manifest.json beside the shards: the label map, counts per split/dataset/species, and each
// shard's record range and whole-file CRC32C. Written last (atomically) by pack, so a directory
// without a manifest is never a shard set. Plain JSON so users and h5py scripts can read it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wildreid::data {

struct ShardEntry {
  std::string file;           // "shard-00000.h5", relative to the manifest's folder
  uint64_t first_record = 0;  // global index of the shard's first record
  uint64_t num_records = 0;
  uint64_t file_bytes = 0;
  uint32_t file_crc32c = 0;   // CRC32C of the whole file
};

// One class of the dense label map: a (dataset, identity) pair seen in the train split.
struct LabelEntry {
  int64_t label = 0;
  std::string dataset;
  std::string identity;
};

struct Manifest {
  int64_t schema_version = 0;
  uint64_t num_records = 0;
  std::vector<ShardEntry> shards;
  std::vector<LabelEntry> labels;                 // sorted by label, labels are 0..n-1
  std::map<std::string, uint64_t> split_counts;   // "train", "val", "query", "test"
  std::map<std::string, uint64_t> dataset_counts;
  std::map<std::string, uint64_t> species_counts; // empty species counted as ""
  std::vector<std::string> sources;               // the packed metadata files
  uint64_t split_seed = 42;
  double val_fraction = 0.2;
  uint64_t skipped_bad = 0;                       // records left out by --skip-bad
};

// Writes to a temporary name in the same folder, then renames.
void write_manifest(const Manifest& manifest, const std::filesystem::path& path);
// Throws std::runtime_error naming the file and the missing/invalid key.
Manifest read_manifest(const std::filesystem::path& path);

}  // namespace wildreid::data
