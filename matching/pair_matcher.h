// A matcher of local features: many pairs in, for each pair the putative correspondences with a
// confidence in [0, 1]. Two implementations: mutual nearest neighbours with Lowe's ratio as the
// confidence (ratio_matcher.h) and LightGlue (lightglue_matcher.h). Safe to call from several
// threads with disjoint pair lists.
#pragma once
#include <ATen/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "matching/local_features.h"

namespace wildreid::matching {

struct PairMatch {
  at::Tensor matches;     // [K, 2] int64: (index in image 0, index in image 1)
  at::Tensor confidence;  // [K] float32
};

class PairMatcher {
 public:
  virtual ~PairMatcher() = default;
  virtual std::string name() const = 0;
  virtual std::vector<PairMatch> match(const std::vector<FeaturePair>& pairs) = 0;
  // True when the matcher runs on a GPU: one caller thread with large batches is best then.
  virtual bool on_gpu() const { return false; }
};

// An empty PairMatch (no correspondences).
PairMatch no_matches();

}  // namespace wildreid::matching
