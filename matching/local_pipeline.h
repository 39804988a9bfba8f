// One local-matching pipeline end to end: image ids in, one score per pair out. Features of every
// image a call needs are extracted once (missing ones only, on the worker threads or the GPU) and
// stored in the feature cache; pairs are then matched in batches (LightGlue pads a batch with masks;
// on CPU several batches run at once on the workers), holding only a bounded set of features in
// memory. Progress goes to stderr. This is what trainer/commands wires into identify's
// PairScorer; matching/ itself knows nothing of identify.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "matching/extractor.h"
#include "matching/feature_store.h"
#include "matching/image_source.h"
#include "matching/pair_matcher.h"
#include "matching/pipeline_options.h"

namespace wildreid::matching {

class LocalPipeline {
 public:
  // Loads the networks (weights named in the options) and opens the cache; throws on bad options.
  LocalPipeline(const LocalPipelineOptions& options, std::shared_ptr<ImageSource> images, std::string name = "local");

  // Scores in pair order. An image without keypoints scores 0 with anything.
  std::vector<float> score_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);
  // Extracts (and caches) the features of the images not cached yet.
  void ensure_features(const std::vector<std::string>& image_ids);
  std::shared_ptr<const LocalFeatures> features(const std::string& image_id);
  // The putative matches of one pair (for drawing).
  PairMatch match_pair(const std::string& a, const std::string& b);

  const LocalPipelineOptions& options() const { return options_; }
  FeatureStore& store() { return *store_; }

 private:
  int workers() const;

  LocalPipelineOptions options_;
  std::shared_ptr<ImageSource> images_;
  std::string name_;
  std::unique_ptr<LocalExtractor> extractor_;
  std::unique_ptr<PairMatcher> matcher_;
  std::unique_ptr<FeatureStore> store_;
};

}  // namespace wildreid::matching
