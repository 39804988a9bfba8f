// Random access to a packed shard set (GUIDE §4, docs/formats.md): the manifest, every record's
// metadata columns, and each record's JPEG bytes verified against its CRC32C. The whole index is
// read once at open(); byte reads go through one HDF5 handle per shard per process, never shared
// across fork, and are serialised by this class so the thread pool only decodes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wildreid::data {

// One record's metadata (one row of the column datasets).
struct RecordInfo {
  int64_t label = -1;        // dense label from the manifest's label map; -1 for query/unlabelled
  std::string image_id;
  std::string identity;      // empty for query rows
  std::string species;
  std::string dataset;
  std::string orientation;
  std::string date;
  std::string split;         // "train", "val", "query" (or "test" for WildlifeReID-10k test rows)
};

class ShardSet {
 public:
  // Opens DIR/manifest.json and every shard it lists; throws std::runtime_error naming the
  // file when a shard is missing, has the wrong schema version or a different record count.
  static std::shared_ptr<ShardSet> open(const std::filesystem::path& dir);
  virtual ~ShardSet() = default;

  virtual size_t size() const = 0;                           // records across all shards
  virtual const RecordInfo& info(size_t index) const = 0;    // global record index
  virtual size_t num_labels() const = 0;                     // classes in the label map
  // Global record indices of one split, ascending (empty if the split does not exist).
  virtual std::vector<size_t> split_indices(const std::string& split) const = 0;
  // JPEG bytes of a record, CRC32C-verified; throws CorruptRecord naming shard and record.
  virtual std::vector<uint8_t> read_bytes(size_t index) const = 0;
  virtual std::filesystem::path shard_path(size_t index) const = 0;  // for error messages
};

// A record whose bytes fail their checksum or cannot be read.
struct CorruptRecord : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace wildreid::data
