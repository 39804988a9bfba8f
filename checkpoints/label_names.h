// Label names travel with weights: the class index -> (dataset, identity) map of the shard set a
// model was trained on, stored in the metadata of its safetensors files (best.safetensors and
// every checkpoint's model.safetensors) under one key, so the logits of a trained head can be
// mapped back to identities by whoever embeds with the file, long after the shards are gone.
// Metadata value: a JSON array, index = class, of [dataset, identity] pairs.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace wildreid::checkpoints {

inline constexpr const char* kLabelNamesKey = "label_names";

struct LabelName {
  std::string dataset;
  std::string identity;
  bool operator==(const LabelName&) const = default;
};

// {kLabelNamesKey: JSON} for a safetensors metadata map.
std::map<std::string, std::string> label_names_metadata(const std::vector<LabelName>& names);

// The names stored in `metadata`; empty when the key is absent. Throws std::runtime_error naming
// `source` when the value is not an array of [dataset, identity] string pairs.
std::vector<LabelName> read_label_names(const std::map<std::string, std::string>& metadata,
                                        const std::string& source);

}  // namespace wildreid::checkpoints
