// See label_names.h.
#include "checkpoints/label_names.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace wildreid::checkpoints {

std::map<std::string, std::string> label_names_metadata(const std::vector<LabelName>& names) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& name : names) pairs.push_back({name.dataset, name.identity});
  return {{kLabelNamesKey, pairs.dump()}};
}

std::vector<LabelName> read_label_names(const std::map<std::string, std::string>& metadata,
                                        const std::string& source) {
  std::vector<LabelName> names;
  auto it = metadata.find(kLabelNamesKey);
  if (it == metadata.end()) return names;
  try {
    const auto pairs = nlohmann::json::parse(it->second);
    if (!pairs.is_array()) throw std::runtime_error("not an array");
    for (const auto& pair : pairs) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
        throw std::runtime_error("entry " + std::to_string(names.size()) + " is not a [dataset, identity] pair");
      names.push_back({pair[0].get<std::string>(), pair[1].get<std::string>()});
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(source + ": metadata '" + kLabelNamesKey + "': " + e.what());
  }
  return names;
}

}  // namespace wildreid::checkpoints
