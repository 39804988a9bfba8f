// The model registry: timm names -> spec (input size, mean/std, embedding size) + a factory.
// Each family file provides `void register_<family>_models(Registry&)` (declared in
// models/families.h) and registry.cpp calls each once; adding a family is one line there.
// Lookup accepts the bare timm name ("convnext_xlarge") and the pretrained-tag form
// ("convnext_xlarge.fb_in22k_ft_in1k_384"); the tag does not change the architecture.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/backbone.h"

namespace wildreid::models {

// Normalisations of timm's pretrained configs (RGB mean / std).
inline const std::vector<double> kImagenetMean{0.485, 0.456, 0.406};
inline const std::vector<double> kImagenetStd{0.229, 0.224, 0.225};
inline const std::vector<double> kHalfMeanStd{0.5, 0.5, 0.5};

using ModelFactory = std::function<std::shared_ptr<Backbone>(const ModelSpec&, const ModelOptions&)>;

struct RegistryEntry {
  ModelSpec spec;          // spec.name carries the default pretrained tag
  ModelFactory create;
};

class Registry {
 public:
  // Adds an entry keyed by the bare part of spec.name; a duplicate name is a logic error (throws).
  void add(ModelSpec spec, ModelFactory create);
  // nullptr when unknown.
  const RegistryEntry* find(const std::string& name) const;
  // Throws std::runtime_error listing the known names when unknown.
  const RegistryEntry& at(const std::string& name) const;
  const std::vector<RegistryEntry>& entries() const { return entries_; }

 private:
  std::vector<RegistryEntry> entries_;
};

// "convnext_xlarge.fb_in22k_ft_in1k_384" -> "convnext_xlarge".
std::string bare_model_name(const std::string& name);

// The registry with every built-in family registered.
const Registry& registry();

// Creates a registered model (throws naming the model on unknown names or bad overrides).
std::shared_ptr<Backbone> create_model(const std::string& name, const ModelOptions& options = {});

// Number of parameter elements of a model with `num_classes` classes (created uninitialised, so
// cheap even for the 475M-parameter MaxViT-XL).
int64_t count_parameters(const std::string& name, int64_t num_classes = 1000);

// 350196968 -> "350.20M" (millions, two decimals), as `trainer models` prints counts.
std::string format_millions(int64_t count);

}  // namespace wildreid::models
