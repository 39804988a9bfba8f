// Writes one shard file from records already held in memory (a shard is a few hundred MB at
// most), in one go: HDF5 calls stay on the calling thread, and a shard is either fully written
// and fsynced or reported as failed. pack writes into a staging folder, so a failure mid-shard
// never leaves a set that looks valid.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/shard_reader.h"

namespace wildreid::data {

struct ShardRecord {
  RecordInfo info;
  std::vector<uint8_t> bytes;  // encoded image (JPEG)
};

// Writes `path` (must not exist) with the datasets and attributes of docs/formats.md and returns
// the file's size. Per-record CRC32C values are computed here.
uint64_t write_shard(const std::filesystem::path& path, const std::vector<ShardRecord>& records,
                     int64_t first_record, const std::string& source);

}  // namespace wildreid::data
