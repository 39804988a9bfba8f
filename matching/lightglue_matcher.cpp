// See lightglue_matcher.h.
#include "matching/lightglue_matcher.h"

#include <ATen/ATen.h>

#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"

namespace wildreid::matching {

std::vector<PairMatch> LightGlueMatcher::match(const std::vector<FeaturePair>& pairs) {
  std::vector<PairMatch> out;
  out.reserve(pairs.size());
  for (const auto& r : model_->match(pairs)) {
    at::Tensor rows = (r.matches0 > -1).nonzero().select(1, 0);
    out.push_back({at::stack({rows, r.matches0.index_select(0, rows)}, 1), r.scores0.index_select(0, rows)});
  }
  return out;
}

LightGlue load_lightglue(const LightGlueOptions& options, const std::string& weights, const std::string& device) {
  LightGlue model(options);
  load_lightglue_weights(*model, checkpoints::read_weights_file(weights), weights);
  model->to(at::Device(device));
  return model;
}

}  // namespace wildreid::matching
