// See network_weights.h.
#include "matching/network_weights.h"

#include <stdexcept>

#include "checkpoints/module_weights.h"

namespace wildreid::matching {
namespace {

const std::vector<std::string> kDerivedBuffers = {"num_batches_tracked", "dkd.hw_grid", "confidence_thresholds"};

void load_strict(torch::nn::Module& model, const std::map<std::string, at::Tensor>& tensors,
                 const std::string& source) {
  checkpoints::LoadOptions options;
  options.skip_suffixes = kDerivedBuffers;
  checkpoints::load_weights(model, tensors, options, source, kDerivedBuffers);
}

}  // namespace

void load_aliked_weights(AlikedImpl& model, const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source) {
  load_strict(model, tensors, source);
  model.eval();
}

void load_lightglue_weights(LightGlueImpl& model, std::map<std::string, at::Tensor> tensors,
                            const std::string& source) {
  std::map<std::string, at::Tensor> renamed;
  for (auto& [key, t] : tensors) {
    std::string name = key.rfind("matcher.", 0) == 0 ? key.substr(8) : key;
    for (const char* block : {"self_attn.", "cross_attn."}) {
      const std::string prefix = block;
      if (name.rfind(prefix, 0) != 0) continue;
      const size_t dot = name.find('.', prefix.size());
      if (dot == std::string::npos) continue;
      const std::string layer = name.substr(prefix.size(), dot - prefix.size());
      name = "transformers." + layer + "." + prefix.substr(0, prefix.size() - 1) + name.substr(dot);
    }
    renamed[name] = t;
  }
  load_strict(model, renamed, source);
  model.eval();
}

}  // namespace wildreid::matching
