// JSON-backed architecture overrides (see arch_overrides.h).
#include "models/arch_overrides.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace wildreid::models {

struct ArchOverrides::Json {
  nlohmann::json value = nlohmann::json::object();
};

ArchOverrides::ArchOverrides(const std::string& json, const std::string& model)
    : json_(std::make_unique<Json>()), model_(model) {
  if (json.empty()) return;
  json_->value = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (json_->value.is_discarded() || !json_->value.is_object())
    throw std::runtime_error("model '" + model + "': architecture overrides are not a JSON object: " + json);
}

ArchOverrides::~ArchOverrides() = default;

namespace {
template <typename T>
void read_value(const nlohmann::json& j, const std::string& key, const std::string& model, T& out) {
  try {
    out = j.at(key).get<T>();
  } catch (const std::exception& e) {
    throw std::runtime_error("model '" + model + "': override '" + key + "' has the wrong type: " + e.what());
  }
}
}  // namespace

#define WILDREID_READ(T)                                              \
  void ArchOverrides::read(const std::string& key, T& value) {        \
    if (!json_->value.contains(key)) return;                          \
    used_.insert(key);                                                \
    read_value(json_->value, key, model_, value);                     \
  }
WILDREID_READ(int64_t)
WILDREID_READ(double)
WILDREID_READ(bool)
WILDREID_READ(std::vector<int64_t>)
#undef WILDREID_READ

void ArchOverrides::finish() const {
  std::string unused;
  for (auto it = json_->value.begin(); it != json_->value.end(); ++it)
    if (!used_.count(it.key())) unused += (unused.empty() ? "" : ", ") + it.key();
  if (!unused.empty()) throw std::runtime_error("model '" + model_ + "': unsupported architecture overrides: " + unused);
}

}  // namespace wildreid::models
