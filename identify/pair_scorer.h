// The seam between the identification stage and local keypoint matching. identify/ scores
// (image A, image B) pairs through this interface only on the pairs it needs (a query's shortlist,
// calibration pairs); matching/ implements it, and trainer/commands wires a factory in, so neither
// library depends on the other (docs/architecture.md).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wildreid::identify {

// Scores pairs of images named by image_id (as stored in the shard set of the run). Higher means
// more alike (for keypoint matchers: the number of confident matches). Deterministic for the same
// inputs; implementations may cache per-image work between calls.
class PairScorer {
 public:
  virtual ~PairScorer() = default;
  virtual std::string name() const = 0;
  // One score per pair, in order.
  virtual std::vector<float> score_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) = 0;
};

// A local pipeline as written in an identify config (`type: local`).
struct LocalPipelineSpec {
  std::string name;                            // pipeline name in the config
  std::map<std::string, std::string> options;  // scalar keys as written: extractor, matcher,
                                               // max_keypoints, size, threshold, weights, ...
  std::string shards;                          // shard set the images are read from
  std::string work_dir;                        // where the scorer may keep caches
};

// Built by whoever links a matcher in (trainer/commands); identify throws a clear error when a
// config names a local pipeline and no factory was given.
using PairScorerFactory = std::function<std::unique_ptr<PairScorer>(const LocalPipelineSpec&)>;

}  // namespace wildreid::identify
