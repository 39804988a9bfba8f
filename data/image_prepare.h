// Turns one input image file's bytes into the JPEG bytes stored in a shard: validated by a decode
// (and, for JPEG, a check for the end-of-image marker, because libjpeg silently grey-fills a
// truncated file), re-encoded only when it must be (a --max-side limit, or a non-JPEG input).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace wildreid::data {

// An image that cannot be used; what() is the reason (the caller adds the path).
struct BadImage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ImagePrepareOptions {
  int max_side = 0;       // 0: keep the original bytes when they are a JPEG
  int jpeg_quality = 95;  // for re-encoded images
};

std::vector<uint8_t> prepare_image(std::vector<uint8_t> bytes, const ImagePrepareOptions& options);

bool looks_like_jpeg(const std::vector<uint8_t>& bytes);

}  // namespace wildreid::data
