// Reads a TrainConfig from a YAML recipe plus `--set key=value` overrides, and writes the
// resolved config back as YAML. One table (config_loader.cpp) names every key, its type and help,
// so unknown keys and wrong types are rejected with the file, line and key named.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "trainer/train_config.h"

namespace wildreid::trainer {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses `path` (may be empty: defaults only), then applies each "dotted.key=value" override.
// Throws ConfigError naming the file/line and key on unknown keys, bad types or bad values.
TrainConfig load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

// Parses YAML text (for tests and resume); `origin` names it in error messages.
TrainConfig parse_config(const std::string& yaml_text, const std::string& origin,
                         const std::vector<std::string>& overrides);

// The fully resolved config as YAML (every key, nested by its dots).
std::string config_to_yaml(const TrainConfig& config);

// One line per key: "key (type, default X): help" for --help and docs.
std::string config_keys_help();

// Checks cross-key constraints (positive batch, known amp, ...); throws ConfigError.
void validate_config(const TrainConfig& config);

}  // namespace wildreid::trainer
