// See feature_store.h.
#include "matching/feature_store.h"

namespace wildreid::matching {

FeatureStore::FeatureStore(std::unique_ptr<FeatureCache> cache, size_t budget_bytes)
    : cache_(std::move(cache)), budget_(budget_bytes) {}

bool FeatureStore::has(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.count(id) > 0 || (cache_ && cache_->contains(id));
}

std::shared_ptr<const LocalFeatures> FeatureStore::get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.position);
    return it->second.features;
  }
  if (!cache_ || !cache_->contains(id)) return nullptr;
  auto f = std::make_shared<const LocalFeatures>(cache_->read(id));
  remember(id, f);
  return f;
}

void FeatureStore::put(std::vector<std::pair<std::string, LocalFeatures>> entries) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cache_) cache_->append(entries);
  for (auto& [id, f] : entries) {
    if (entries_.count(id)) continue;
    remember(id, std::make_shared<const LocalFeatures>(std::move(f)));
  }
}

size_t FeatureStore::resident_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

void FeatureStore::remember(const std::string& id, std::shared_ptr<const LocalFeatures> f) {
  bytes_ += f->bytes();
  recent_.push_front(id);
  entries_[id] = {std::move(f), recent_.begin()};
  // Only a cache makes dropping safe: what is dropped can be read back.
  while (cache_ && bytes_ > budget_ && recent_.size() > 1) {
    auto victim = entries_.find(recent_.back());
    bytes_ -= victim->second.features->bytes();
    entries_.erase(victim);
    recent_.pop_back();
  }
}

}  // namespace wildreid::matching
