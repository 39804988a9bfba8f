// ShardSet over HDF5 shards: HDF5 is used only inside open() to read every shard's index and
// columns (one thread, the default HDF5 is not thread-safe). Record bytes are then read with
// pread() at the file offset of the contiguous `images` dataset, which is thread-safe, takes no
// lock, and is checked against the record's CRC32C. File descriptors are reopened lazily after
// a fork so no descriptor is ever shared between processes.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "data/crc32c.h"
#include "data/hdf5_handle.h"
#include "data/manifest.h"
#include "data/shard_format.h"
#include "data/shard_reader.h"

namespace wildreid::data {
namespace {

struct ShardIndex {
  std::filesystem::path path;
  uint64_t first_record = 0;
  uint64_t images_file_offset = 0;  // where `images` starts in the file
  std::vector<int64_t> offsets, lengths;
  std::vector<uint32_t> crcs;
};

class HdfShardSet final : public ShardSet {
 public:
  explicit HdfShardSet(const std::filesystem::path& dir) {
    manifest_ = read_manifest(dir / kManifestFile);
    for (const auto& entry : manifest_.shards) load_shard(dir, entry);
    fds_.assign(shards_.size(), -1);
    for (size_t i = 0; i < records_.size(); ++i) {
      const auto& split = records_[i].split;
      split_index_[split].push_back(i);
    }
  }

  ~HdfShardSet() override {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }

  size_t size() const override { return records_.size(); }
  const RecordInfo& info(size_t index) const override { return records_.at(index); }
  size_t num_labels() const override { return manifest_.labels.size(); }

  std::vector<size_t> split_indices(const std::string& split) const override {
    const auto it = split_index_.find(split);
    return it == split_index_.end() ? std::vector<size_t>{} : it->second;
  }

  std::filesystem::path shard_path(size_t index) const override { return shards_.at(shard_of_.at(index)).path; }

  std::vector<uint8_t> read_bytes(size_t index) const override {
    if (index >= records_.size())
      throw std::out_of_range("record " + std::to_string(index) + " out of range (set has " +
                              std::to_string(records_.size()) + ")");
    const size_t s = shard_of_[index];
    const ShardIndex& shard = shards_[s];
    const size_t row = index - shard.first_record;
    const auto where = [&] {
      return shard.path.string() + ": record " + std::to_string(row) + " (global " + std::to_string(index) +
             ", image_id " + records_[index].image_id + ")";
    };
    std::vector<uint8_t> bytes(static_cast<size_t>(shard.lengths[row]));
    const int fd = fd_for(s);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done,
                                  static_cast<off_t>(shard.images_file_offset + shard.offsets[row] + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw CorruptRecord(where() + ": read failed: " + std::strerror(errno));
      if (got == 0) throw CorruptRecord(where() + ": file ends before the record's bytes (truncated shard)");
      done += static_cast<size_t>(got);
    }
    const uint32_t crc = crc32c(bytes.data(), bytes.size());
    if (crc != shard.crcs[row]) {
      char msg[96];
      std::snprintf(msg, sizeof msg, ": CRC32C mismatch (stored %08x, computed %08x)", shard.crcs[row], crc);
      throw CorruptRecord(where() + msg);
    }
    return bytes;
  }

 private:
  void load_shard(const std::filesystem::path& dir, const ShardEntry& entry) {
    ShardIndex shard;
    shard.path = dir / entry.file;
    shard.first_record = entry.first_record;
    const std::string where = shard.path.string();
    auto file = hdf5::open_file_readonly(where);
    const hid_t f = file.get();
    const int64_t version = hdf5::read_attribute_i64(f, kSchemaAttribute, where);
    if (version != kShardSchemaVersion)
      throw std::runtime_error(where + ": schema_version " + std::to_string(version) + ", expected " +
                               std::to_string(kShardSchemaVersion));
    const int64_t first = hdf5::read_attribute_i64(f, kFirstRecordAttribute, where);
    if (first != static_cast<int64_t>(entry.first_record))  // e.g. shard files swapped or copied over
      throw std::runtime_error(where + ": first_record " + std::to_string(first) + ", manifest says " +
                               std::to_string(entry.first_record) + " (shard from another position or set?)");
    const size_t n = entry.num_records;
    const auto check_length = [&](const char* name, size_t got) {
      if (got != n)
        throw std::runtime_error(where + ": dataset '" + name + "' has " + std::to_string(got) +
                                 " rows, manifest says " + std::to_string(n) + " records");
    };
    shard.offsets = hdf5::read_i64(f, kOffsetsDataset, where);
    check_length(kOffsetsDataset, shard.offsets.size());
    shard.lengths = hdf5::read_i64(f, kLengthsDataset, where);
    check_length(kLengthsDataset, shard.lengths.size());
    shard.crcs = hdf5::read_u32(f, kCrcDataset, where);
    check_length(kCrcDataset, shard.crcs.size());
    const auto labels = hdf5::read_i64(f, kLabelDataset, where);
    check_length(kLabelDataset, labels.size());
    std::vector<std::vector<std::string>> columns;
    for (const char* column : kStringColumns) {
      columns.push_back(hdf5::read_strings(f, column, where));
      check_length(column, columns.back().size());
    }
    const size_t image_bytes = hdf5::dataset_length(f, kImagesDataset, where);
    if (image_bytes > 0) {
      hdf5::Handle images(H5Dopen2(f, kImagesDataset, H5P_DEFAULT), H5Dclose);
      const haddr_t offset = images.valid() ? H5Dget_offset(images.get()) : HADDR_UNDEF;
      if (offset == HADDR_UNDEF)
        throw std::runtime_error(where + ": dataset 'images' is not stored contiguously (not written by pack?)");
      shard.images_file_offset = offset;
    }
    for (size_t i = 0; i < n; ++i) {
      if (shard.offsets[i] < 0 || shard.lengths[i] < 0 ||
          static_cast<uint64_t>(shard.offsets[i]) + static_cast<uint64_t>(shard.lengths[i]) > image_bytes)
        throw std::runtime_error(where + ": record " + std::to_string(i) + " has offset/length outside 'images'");
      if (labels[i] < -1 || labels[i] >= static_cast<int64_t>(manifest_.labels.size()))
        throw std::runtime_error(where + ": record " + std::to_string(i) + " has label " + std::to_string(labels[i]) +
                                 " outside the label map");
      RecordInfo r;
      r.label = labels[i];
      r.image_id = columns[0][i];
      r.identity = columns[1][i];
      r.species = columns[2][i];
      r.dataset = columns[3][i];
      r.orientation = columns[4][i];
      r.date = columns[5][i];
      r.split = columns[6][i];
      records_.push_back(std::move(r));
      shard_of_.push_back(shards_.size());
    }
    shards_.push_back(std::move(shard));
  }

  int fd_for(size_t shard) const {
    std::lock_guard<std::mutex> lock(fd_mutex_);
    const pid_t pid = ::getpid();
    if (pid != fd_pid_) {  // first use, or we are a forked child: never reuse the parent's fds
      fds_.assign(shards_.size(), -1);
      fd_pid_ = pid;
    }
    if (fds_[shard] < 0) {
      fds_[shard] = ::open(shards_[shard].path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fds_[shard] < 0)
        throw CorruptRecord(shards_[shard].path.string() + ": cannot open: " + std::strerror(errno));
    }
    return fds_[shard];
  }

  Manifest manifest_;
  std::vector<ShardIndex> shards_;
  std::vector<RecordInfo> records_;
  std::vector<size_t> shard_of_;
  std::map<std::string, std::vector<size_t>> split_index_;
  mutable std::mutex fd_mutex_;
  mutable std::vector<int> fds_;
  mutable pid_t fd_pid_ = -1;
};

}  // namespace

std::shared_ptr<ShardSet> ShardSet::open(const std::filesystem::path& dir) {
  return std::make_shared<HdfShardSet>(dir);
}

}  // namespace wildreid::data
