// Names and constants of the HDF5 shard format (docs/formats.md), shared by the writer, the
// reader and inspect so the three cannot drift apart. Bump kShardSchemaVersion on any change.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace wildreid::data {

inline constexpr int64_t kShardSchemaVersion = 1;
inline constexpr const char* kManifestFile = "manifest.json";

// Datasets in every shard-NNNNN.h5 (all 1-D, one row per record except `images`).
inline constexpr const char* kImagesDataset = "images";    // uint8, all JPEGs concatenated
inline constexpr const char* kOffsetsDataset = "offsets";  // int64, start of each record in images
inline constexpr const char* kLengthsDataset = "lengths";  // int64, byte length of each record
inline constexpr const char* kLabelDataset = "label";      // int64, -1 when not in the label map
inline constexpr const char* kCrcDataset = "crc32c";       // uint32, CRC32C of each record's bytes
// Fixed-length, NUL-padded UTF-8 string columns (h5py reads them as numpy bytes `S<n>`).
inline constexpr std::array<const char*, 7> kStringColumns = {
    "image_id", "identity", "species", "dataset", "orientation", "date", "split"};

// Root-group attributes.
inline constexpr const char* kSchemaAttribute = "schema_version";    // int64
inline constexpr const char* kSourceAttribute = "source";            // string: packed inputs
inline constexpr const char* kFirstRecordAttribute = "first_record"; // int64: global index of row 0

// "shard-00007.h5"
std::string shard_file_name(size_t shard_index);

}  // namespace wildreid::data
