// The on-disk cache of local features (docs/formats.md, "Local-feature cache"): one folder per
// extractor configuration, `local-features-<hash of canonical_text>`, holding `extractor.txt` (the
// canonical text) and part files `part-NNNNN.h5`, each a complete HDF5 file with the features of a
// set of images stored end to end plus a per-image index, readable by h5py. A run appends a new
// part for the images it had to extract; parts are written under a temporary name and linked into
// place, so a part is never half-written and two runs sharing a folder cannot overwrite each other.
// Not thread-safe (HDF5 is not): the feature store serialises access.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "matching/extractor_options.h"
#include "matching/local_features.h"

namespace wildreid::matching {

class FeatureCache {
 public:
  // Opens or creates ROOT/local-features-<hash>/ and indexes every part; throws naming the file
  // when a part is not a feature cache of this configuration.
  FeatureCache(const std::filesystem::path& root, const ExtractorOptions& options);
  ~FeatureCache();

  bool contains(const std::string& image_id) const { return index_.count(image_id) > 0; }
  size_t size() const { return index_.size(); }
  const std::filesystem::path& folder() const { return folder_; }
  // Throws naming the image and part when missing or inconsistent.
  LocalFeatures read(const std::string& image_id) const;
  // Writes one part with these images (skipping ids already cached) and indexes it.
  void append(const std::vector<std::pair<std::string, LocalFeatures>>& entries);

 private:
  struct Location {
    size_t part;
    int64_t offset, count, width, height;
  };
  struct Part;
  void index_part(const std::filesystem::path& path);

  std::filesystem::path folder_;
  std::string config_;
  int64_t dim_;
  bool scale_ori_;
  std::vector<std::unique_ptr<Part>> parts_;
  std::unordered_map<std::string, Location> index_;
};

// 16 hex digits of FNV-1a 64 of `text` (the cache folder's name).
std::string config_hash(const std::string& text);

}  // namespace wildreid::matching
