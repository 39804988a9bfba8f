// The metadata `trainer train` writes into every weights file it produces (best.safetensors and
// each checkpoint's model.safetensors): the label map of the shard set it trains on, so the
// logits of the trained head map back to (dataset, identity) (checkpoints/label_names.h).
#pragma once
#include <filesystem>
#include <map>
#include <string>

namespace wildreid::trainer {

// From SHARDS/manifest.json; throws std::runtime_error naming the file when it cannot be read.
std::map<std::string, std::string> label_names_metadata_of(const std::filesystem::path& shards_dir);

}  // namespace wildreid::trainer
