// Column layout: images (uint8) + offsets/lengths (int64) + label (int64) + crc32c (uint32) +
// fixed-length string columns. `images` is contiguous (not chunked) so the reader can pread a
// record's bytes straight from the file offset HDF5 reports, without HDF5 calls per read.
#include "data/shard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

#include "data/crc32c.h"
#include "data/hdf5_handle.h"
#include "data/shard_format.h"

namespace wildreid::data {
namespace {

void fsync_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error(path.string() + ": cannot reopen to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error(path.string() + ": fsync failed");
}

}  // namespace

uint64_t write_shard(const std::filesystem::path& path, const std::vector<ShardRecord>& records,
                     int64_t first_record, const std::string& source) {
  const std::string where = path.string();
  const size_t n = records.size();
  std::vector<int64_t> offsets(n), lengths(n), labels(n);
  std::vector<uint32_t> crcs(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    offsets[i] = static_cast<int64_t>(total);
    lengths[i] = static_cast<int64_t>(records[i].bytes.size());
    labels[i] = records[i].info.label;
    crcs[i] = crc32c(records[i].bytes.data(), records[i].bytes.size());
    total += records[i].bytes.size();
  }
  std::vector<uint8_t> images;
  images.reserve(total);
  for (const auto& r : records) images.insert(images.end(), r.bytes.begin(), r.bytes.end());

  {
    auto file = hdf5::create_file(where);
    hdf5::write_u8(file.get(), kImagesDataset, images, where);
    images = {};
    hdf5::write_i64(file.get(), kOffsetsDataset, offsets, where);
    hdf5::write_i64(file.get(), kLengthsDataset, lengths, where);
    hdf5::write_i64(file.get(), kLabelDataset, labels, where);
    hdf5::write_u32(file.get(), kCrcDataset, crcs, where);
    for (const char* column : kStringColumns) {
      std::vector<std::string> values(n);
      const std::string name = column;
      for (size_t i = 0; i < n; ++i) {
        const RecordInfo& r = records[i].info;
        values[i] = name == "image_id"      ? r.image_id
                    : name == "identity"    ? r.identity
                    : name == "species"     ? r.species
                    : name == "dataset"     ? r.dataset
                    : name == "orientation" ? r.orientation
                    : name == "date"        ? r.date
                                            : r.split;
      }
      hdf5::write_strings(file.get(), column, values, where);
    }
    hdf5::write_attribute_i64(file.get(), kSchemaAttribute, kShardSchemaVersion, where);
    hdf5::write_attribute_string(file.get(), kSourceAttribute, source, where);
    hdf5::write_attribute_i64(file.get(), kFirstRecordAttribute, first_record, where);
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw std::runtime_error(where + ": HDF5: flush failed");
  }
  fsync_file(path);
  return std::filesystem::file_size(path);
}

}  // namespace wildreid::data
