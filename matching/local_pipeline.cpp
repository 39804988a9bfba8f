// See local_pipeline.h. Extraction runs in waves of a few images per worker; each wave's features
// go to the store (one cache part per flush, flushed every 1024 images or 256 MB), so an
// interrupted run keeps what it finished. Matching takes pairs in the caller's order (a query's
// shortlist is contiguous, so its features stay resident) in batches of batch_pairs.
#include "matching/local_pipeline.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include <opencv2/core/utility.hpp>

#include "data/progress.h"
#include "matching/lightglue_config.h"
#include "matching/lightglue_matcher.h"
#include "matching/ratio_matcher.h"
#include "matching/worker_threads.h"

namespace wildreid::matching {
namespace {

// OpenCV's own thread pool off while our workers run OpenCV calls side by side; restored after.
struct ScopedOpenCvThreads {
  int saved = cv::getNumThreads();
  explicit ScopedOpenCvThreads(int workers) {
    if (workers > 1) cv::setNumThreads(0);
  }
  ~ScopedOpenCvThreads() { cv::setNumThreads(saved); }
};

std::unique_ptr<PairMatcher> make_matcher(const LocalPipelineOptions& o) {
  if (o.matcher == "ratio") return std::make_unique<RatioMatcher>();
  LightGlueOptions lg = lightglue_options_for(is_aliked(o.extractor) ? "aliked" : "sift");
  lg.input_dim = descriptor_dim(o.extractor);
  lg.filter_threshold = o.filter_threshold;
  if (!o.adaptive) lg.depth_confidence = lg.width_confidence = -1;
  return std::make_unique<LightGlueMatcher>(load_lightglue(lg, o.lightglue_weights, o.extractor.device));
}

}  // namespace

LocalPipeline::LocalPipeline(const LocalPipelineOptions& options, std::shared_ptr<ImageSource> images,
                             std::string name)
    : options_(options), images_(std::move(images)), name_(std::move(name)) {
  validate(options_, name_);
  extractor_ = make_extractor(options_.extractor);
  matcher_ = make_matcher(options_);
  std::unique_ptr<FeatureCache> cache;
  if (!options_.cache_dir.empty()) cache = std::make_unique<FeatureCache>(options_.cache_dir, options_.extractor);
  store_ = std::make_unique<FeatureStore>(std::move(cache), static_cast<size_t>(options_.memory_mb) << 20);
}

int LocalPipeline::workers() const {
  if (extractor_->on_gpu() || matcher_->on_gpu()) return 1;
  return options_.threads > 0 ? options_.threads : default_worker_threads();
}

void LocalPipeline::ensure_features(const std::vector<std::string>& image_ids) {
  std::vector<std::string> missing;
  std::unordered_set<std::string> seen;
  for (const auto& id : image_ids)
    if (seen.insert(id).second && !store_->has(id)) missing.push_back(id);
  if (missing.empty()) return;
  for (const auto& id : missing)  // fail before hours of work; load() says why (no file, not in the shards)
    if (!images_->contains(id)) images_->load(id, 0);
  data::Progress progress(name_ + ": extract " + options_.extractor.type, missing.size(), !options_.progress);
  const int threads = workers();
  ScopedOpenCvThreads opencv_threads(threads);
  const size_t wave = static_cast<size_t>(std::max(1, threads)) * 4;
  std::vector<std::pair<std::string, LocalFeatures>> pending;
  size_t pending_bytes = 0;
  for (size_t start = 0; start < missing.size(); start += wave) {
    const size_t n = std::min(wave, missing.size() - start);
    std::vector<LocalFeatures> out(n);
    run_on_workers(n, threads, [&](size_t i) {
      const std::string& id = missing[start + i];
      out[i] = extractor_->extract(images_->load(id, options_.extractor.size), "'" + id + "'");
    });
    for (size_t i = 0; i < n; ++i) {
      pending_bytes += out[i].bytes();
      pending.emplace_back(missing[start + i], std::move(out[i]));
    }
    progress.advance(n);
    if (pending.size() >= 1024 || pending_bytes >= (size_t{256} << 20) || start + n == missing.size()) {
      store_->put(std::move(pending));
      pending.clear();
      pending_bytes = 0;
    }
  }
  progress.finish();
}

std::shared_ptr<const LocalFeatures> LocalPipeline::features(const std::string& image_id) {
  ensure_features({image_id});
  auto f = store_->get(image_id);
  if (!f) throw std::runtime_error(name_ + ": no features for image '" + image_id + "'");
  return f;
}

std::vector<float> LocalPipeline::score_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<std::string> ids;
  ids.reserve(2 * pairs.size());
  for (const auto& [a, b] : pairs) {
    ids.push_back(a);
    ids.push_back(b);
  }
  ensure_features(ids);
  const size_t batch = options_.batch_pairs > 0 ? static_cast<size_t>(options_.batch_pairs)
                                                : (matcher_->on_gpu() ? 64 : 16);
  const size_t batches = (pairs.size() + batch - 1) / batch;
  std::vector<float> scores(pairs.size(), 0.f);
  data::Progress progress(name_ + ": match " + matcher_->name(), pairs.size(), !options_.progress);
  std::mutex progress_mutex;
  ScopedOpenCvThreads opencv_threads(workers());  // RANSAC runs in the workers
  run_on_workers(batches, workers(), [&](size_t k) {
    const size_t begin = k * batch, end = std::min(pairs.size(), begin + batch);
    std::vector<std::shared_ptr<const LocalFeatures>> held;
    std::vector<FeaturePair> work;
    for (size_t p = begin; p < end; ++p) {
      auto a = store_->get(pairs[p].first), b = store_->get(pairs[p].second);
      if (!a || !b) throw std::runtime_error(name_ + ": features vanished for pair " + std::to_string(p));
      work.emplace_back(a.get(), b.get());
      held.push_back(std::move(a));
      held.push_back(std::move(b));
    }
    const std::vector<PairMatch> matches = matcher_->match(work);
    for (size_t i = 0; i < work.size(); ++i)
      scores[begin + i] = pair_score(matches[i], *work[i].first, *work[i].second, options_.score);
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress.advance(end - begin);
  });
  progress.finish();
  return scores;
}

PairMatch LocalPipeline::match_pair(const std::string& a, const std::string& b) {
  ensure_features({a, b});
  auto fa = features(a), fb = features(b);
  return matcher_->match({{fa.get(), fb.get()}}).front();
}

}  // namespace wildreid::matching
