// The identify recipe (configs/identify_*.yaml; identify/README.md lists every key): which rows
// are queries, database and calibration set, the similarity pipelines, the components that
// predict an identity per query (WildFusion, classifier, MLP), the rule-fusion steps that join
// them, and the threshold. Parsed strictly: an unknown key, a wrong type or a reference to a
// name that does not exist is an error naming the file and line.
#pragma once
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "identify/embedding_mlp.h"
#include "identify/rule_fusion.h"
#include "identify/scenario.h"

namespace wildreid::identify {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PipelineConfig {
  std::string name;
  std::string type = "global";        // global | local
  std::vector<std::string> models;    // global: models to concatenate; empty = every model in the file
  std::string scaler = "auto";        // auto (on with several models) | true | false
  double pca = -1;                    // -1 auto (0.99 with several models, else off); 0 off; (0, 1]
  std::map<std::string, std::string> options;  // local: every other scalar key, for the PairScorerFactory
  std::string where;                  // "file:line" for messages
};

struct ComponentConfig {
  std::string name;
  std::string type;                   // wildfusion | classifier | mlp
  std::string where;
  // wildfusion
  std::vector<std::string> pipelines;
  std::string priority;               // default: the first global pipeline listed
  int64_t shortlist = 100;            // B; 0 = all
  // classifier
  std::string model = "auto";         // auto: the only model of the file with logits
  // mlp
  std::vector<std::string> models;    // empty = every model in the file
  bool scaler = true;
  double pca = 0.99;
  MlpOptions mlp;
};

struct IdentifyConfig {
  std::string origin;
  ScenarioOptions scenario;
  bool within_dataset = true;
  std::vector<PipelineConfig> pipelines;
  std::vector<ComponentConfig> components;
  std::vector<FusionRule> fusion;
  std::string output;                 // the prediction that is thresholded (default: last fusion step, else the only component)
  bool tune_threshold = true;
  double threshold = 0.5;             // when not tuned
  bool per_dataset_threshold = false;
  std::string device = "auto";
  int64_t block = 256;
};

// Parses `path`, then applies each "dotted.path=value" override (list items addressed by index or
// by their `name`, e.g. threshold.mode=fixed or components.wildfusion.shortlist=all).
IdentifyConfig load_identify_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);
IdentifyConfig parse_identify_config(const std::string& yaml_text, const std::string& origin,
                                     const std::vector<std::string>& overrides);

}  // namespace wildreid::identify
