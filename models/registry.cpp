// Built-in registry (see registry.h).
#include "models/registry.h"

#include <cstdio>
#include <stdexcept>

#include "models/families.h"

namespace wildreid::models {
namespace {

// Every family's registration function. Add one line per new family.
constexpr void (*kFamilies[])(Registry&) = {
    register_convnext_models,
    register_vit_models,
    register_swin_models,
    register_maxvit_models,
};

}  // namespace

std::string bare_model_name(const std::string& name) {
  auto dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

void Registry::add(ModelSpec spec, ModelFactory create) {
  if (find(spec.name)) throw std::logic_error("model registry: duplicate entry '" + spec.name + "'");
  entries_.push_back({std::move(spec), std::move(create)});
}

const RegistryEntry* Registry::find(const std::string& name) const {
  const std::string bare = bare_model_name(name);
  for (const auto& e : entries_)
    if (bare_model_name(e.spec.name) == bare) return &e;
  return nullptr;
}

const RegistryEntry& Registry::at(const std::string& name) const {
  if (const auto* e = find(name)) return *e;
  std::string known;
  for (const auto& e : entries_) known += (known.empty() ? "" : ", ") + bare_model_name(e.spec.name);
  throw std::runtime_error("unknown model '" + name + "'; known models: " + known);
}

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    for (auto fn : kFamilies) fn(r);
    return r;
  }();
  return instance;
}

std::shared_ptr<Backbone> create_model(const std::string& name, const ModelOptions& options) {
  const RegistryEntry& entry = registry().at(name);
  ModelSpec spec = entry.spec;
  spec.num_classes = options.num_classes;
  if (options.img_size > 0) spec.input_size = options.img_size;
  auto model = entry.create(spec, options);
  if (options.init_weights) model->init_weights();
  return model;
}

int64_t count_parameters(const std::string& name, int64_t num_classes) {
  ModelOptions options;
  options.num_classes = num_classes;
  options.init_weights = false;
  auto model = create_model(name, options);
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  return total;
}

std::string format_millions(int64_t count) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fM", static_cast<double>(count) / 1e6);
  return buf;
}

}  // namespace wildreid::models
