// LightGlue as a PairMatcher: the pairs of one call go through the network as one padded batch
// (lightglue.h) on the model's device; a match's confidence is LightGlue's matching score.
#pragma once
#include <memory>

#include "matching/lightglue.h"
#include "matching/pair_matcher.h"

namespace wildreid::matching {

class LightGlueMatcher : public PairMatcher {
 public:
  explicit LightGlueMatcher(LightGlue model) : model_(std::move(model)) {}
  std::string name() const override { return "lightglue"; }
  std::vector<PairMatch> match(const std::vector<FeaturePair>& pairs) override;
  bool on_gpu() const override { return !model_->device().is_cpu(); }

 private:
  LightGlue model_;
};

// Builds LightGlue for `features` with its weights file (torch.save or safetensors) on `device`.
LightGlue load_lightglue(const LightGlueOptions& options, const std::string& weights, const std::string& device);

}  // namespace wildreid::matching
