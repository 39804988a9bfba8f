// The one place where `trainer` wires local matching (matching/LocalPipeline) into identify's
// pair-score interface: a `type: local` pipeline's options are parsed by matching/ as written,
// images come from the run's shard set by image_id, and features are cached under the pipeline's
// work folder (DIR/cache/<pipeline>), so a second run reuses them.
#include "trainer/commands/pair_scorers.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "matching/local_pipeline.h"

namespace wildreid::commands {
namespace {

class LocalMatchingScorer : public identify::PairScorer {
 public:
  explicit LocalMatchingScorer(const identify::LocalPipelineSpec& spec) : name_(spec.name) {
    const std::string where = "local pipeline '" + spec.name + "'";
    matching::LocalPipelineOptions o = matching::parse_pipeline_options(spec.options, where);
    o.cache_dir = spec.work_dir;
    // Missing weights are a configuration error: said before the shard set is opened.
    for (const std::string& file : {o.extractor.weights, o.lightglue_weights})
      if (!file.empty() && !std::filesystem::exists(file))
        throw std::runtime_error(where + ": weights file '" + file + "' not found");
    try {  // weights, shard set and cache problems name the pipeline too
      pipeline_ = std::make_unique<matching::LocalPipeline>(o, matching::shard_image_source(spec.shards), spec.name);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
    description_ = spec.name + " (" + o.extractor.type + " + " + o.matcher + ")";
  }
  std::string name() const override { return description_; }
  std::vector<float> score_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    return pipeline_->score_pairs(pairs);
  }

 private:
  std::string name_, description_;
  std::unique_ptr<matching::LocalPipeline> pipeline_;
};

}  // namespace

identify::PairScorerFactory pair_scorer_factory() {
  return [](const identify::LocalPipelineSpec& spec) -> std::unique_ptr<identify::PairScorer> {
    return std::make_unique<LocalMatchingScorer>(spec);
  };
}

}  // namespace wildreid::commands
