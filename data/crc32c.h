// CRC32C (Castagnoli), the per-record and per-shard checksum of the shard format (docs/formats.md).
// Chosen over CRC32 because x86 has an instruction for it (SSE4.2), so verifying every record on a
// random read costs far less than decoding it; a portable table version is used elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace wildreid::data {

// CRC32C of `size` bytes, continuing from `crc` (0 to start). crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// CRC32C of a whole file's bytes; throws std::runtime_error naming the file when it cannot be read.
uint32_t crc32c_file(const std::filesystem::path& path);

}  // namespace wildreid::data
