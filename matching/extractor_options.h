// What a local feature extractor is asked for, as one plain struct, and its canonical text: the
// text keys the feature cache, so any option that changes the features changes the key (and the
// cache folder) and a stale cache is never reused. Defaults follow wildlife-tools' WildFusion
// setup: 256 keypoints per image, top-k detection (threshold 0), images resized to 512.
#pragma once
#include <cstdint>
#include <string>

namespace wildreid::matching {

struct ExtractorOptions {
  std::string type = "sift";     // "sift" or an ALIKED variant ("aliked-n16", ...; "aliked" = n16)
  int64_t max_keypoints = 256;   // keypoint budget per image
  int64_t size = 512;            // resize so the longer side is this many pixels (0: keep)
  double detection_threshold = 0;  // ALIKED: > 0 selects threshold mode; SIFT: contrast threshold
                                   // (0 = OpenCV's 0.04)
  bool rootsift = true;          // SIFT: RootSIFT descriptors (L1, sqrt, L2), as LightGlue's SIFT
  std::string weights;           // ALIKED: .pth or .safetensors with kornia's parameter names
  std::string device = "cpu";    // ALIKED: torch device
};

bool is_aliked(const ExtractorOptions& o);
std::string aliked_variant_of(const ExtractorOptions& o);  // "aliked" -> "aliked-n16"
// Descriptor width the extractor produces (128 for SIFT and every ALIKED variant but t16: 64).
int64_t descriptor_dim(const ExtractorOptions& o);
// Canonical text of everything that changes the features (not the device).
std::string canonical_text(const ExtractorOptions& o);
// Throws std::invalid_argument naming the option on a value that cannot work.
void validate(const ExtractorOptions& o);

}  // namespace wildreid::matching
