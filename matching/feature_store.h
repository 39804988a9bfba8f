// Features of the images a run touches, held in memory up to a byte budget (least recently used
// images are dropped first) over the on-disk cache, so matching 2,135 queries against 13,074
// database images never needs every descriptor in RAM. Without a cache folder nothing is dropped
// (the store is then the only copy). Thread-safe: one mutex serialises the map and HDF5 reads.
#pragma once
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "matching/feature_cache.h"
#include "matching/local_features.h"

namespace wildreid::matching {

class FeatureStore {
 public:
  FeatureStore(std::unique_ptr<FeatureCache> cache, size_t budget_bytes);
  bool has(const std::string& image_id);
  // nullptr when the image was never extracted.
  std::shared_ptr<const LocalFeatures> get(const std::string& image_id);
  // Adds extracted features: one new cache part, and memory.
  void put(std::vector<std::pair<std::string, LocalFeatures>> entries);
  size_t resident_bytes();
  const FeatureCache* cache() const { return cache_.get(); }

 private:
  void remember(const std::string& id, std::shared_ptr<const LocalFeatures> f);  // lock held

  std::mutex mutex_;
  std::unique_ptr<FeatureCache> cache_;
  size_t budget_;
  size_t bytes_ = 0;
  std::list<std::string> recent_;  // front = most recently used
  struct Entry {
    std::shared_ptr<const LocalFeatures> features;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace wildreid::matching
