// The identify recipe parser: defaults, --set overrides (list items by index or name), and
// refusal of unknown keys and dangling references with the file and line.
#include <gtest/gtest.h>

#include "identify/identify_config.h"

namespace wildreid::identify {
namespace {

const char* kRecipe =
    "pipelines:\n"
    "  - {name: g, type: global, models: [m1, m2]}\n"
    "  - {name: l, type: local, extractor: sift}\n"
    "components:\n"
    "  - {name: wf, type: wildfusion, pipelines: [l, g]}\n"
    "  - {name: cls, type: classifier}\n"
    "fusion:\n"
    "  - {name: both, a: wf, b: cls, weight_b: 0.25}\n";

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse_identify_config(yaml, "r.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(IdentifyConfig, DefaultsAndDerivedNames) {
  const auto c = parse_identify_config(kRecipe, "r.yaml", {});
  EXPECT_EQ(c.output, "both") << "the last fusion step by default";
  EXPECT_EQ(c.components[0].priority, "g") << "the first global pipeline shortlists";
  EXPECT_EQ(c.components[0].shortlist, 100);
  EXPECT_EQ(c.pipelines[1].options.at("extractor"), "sift");
  EXPECT_EQ(c.pipelines[0].models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(c.fusion[0].mean, FusionRule::Mean::kWeighted);
  EXPECT_DOUBLE_EQ(c.fusion[0].weight_b, 0.25);
  EXPECT_TRUE(c.tune_threshold);
  EXPECT_EQ(c.scenario.calibration_split, "val");
  EXPECT_EQ(c.scenario.database_splits, (std::vector<std::string>{"train", "val"}));
  EXPECT_EQ(c.device, "auto");
}

TEST(IdentifyConfig, OverridesAddressListItemsByIndexOrName) {
  const auto c = parse_identify_config(
      kRecipe, "r.yaml",
      {"components.wf.shortlist=all", "components.1.model=convnext", "threshold.mode=fixed", "threshold.value=0.7",
       "pipelines.g.models=all", "fusion.both.disagree=b", "calibration.first=1000"});
  EXPECT_EQ(c.components[0].shortlist, 0);
  EXPECT_EQ(c.components[1].model, "convnext");
  EXPECT_FALSE(c.tune_threshold);
  EXPECT_DOUBLE_EQ(c.threshold, 0.7);
  EXPECT_TRUE(c.pipelines[0].models.empty()) << "all = every model of the file";
  EXPECT_EQ(c.fusion[0].disagree, FusionRule::Pick::kB);
  EXPECT_EQ(c.scenario.calibration_first, 1000);
  EXPECT_NE(error_of(kRecipe, {"components.nope.shortlist=3"}).find("no list item 'nope'"), std::string::npos);
  EXPECT_NE(error_of(kRecipe, {"threshold"}).find("expected path=value"), std::string::npos);
}

TEST(IdentifyConfig, UnknownKeysAndBadValuesNameTheLine) {
  EXPECT_NE(error_of(std::string(kRecipe) + "threshhold: {mode: tune}\n").find("r.yaml:9: unknown key 'threshhold'"),
            std::string::npos);
  EXPECT_NE(error_of("components:\n  - name: w\n    type: wildfusion\n    shortlist: many\n    pipelines: [g]\n"
                     "pipelines: [{name: g}]\n")
                .find("r.yaml:4: component key 'shortlist' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kRecipe) + "threshold: {mode: sometimes}\n").find("tune or fixed"), std::string::npos);
  EXPECT_NE(error_of(std::string(kRecipe), {"fusion.both.bost_a=2"}).find("unknown key 'bost_a' in fusion step"),
            std::string::npos);
  EXPECT_NE(error_of("components: [{name: x, type: knn}]\n").find("r.yaml:1: component type 'knn'"), std::string::npos);
  EXPECT_NE(error_of("a: [\n").find("invalid YAML"), std::string::npos);
}

TEST(IdentifyConfig, DanglingReferencesAreRefused) {
  EXPECT_NE(error_of("").find("no components"), std::string::npos);
  EXPECT_NE(error_of("components: [{name: w, type: wildfusion, pipelines: [p]}]\n").find("no pipeline 'p'"),
            std::string::npos);
  EXPECT_NE(error_of("pipelines: [{name: l, type: local}]\n"
                     "components: [{name: w, type: wildfusion, pipelines: [l]}]\n")
                .find("needs a global pipeline"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kRecipe), {"fusion.both.b=later"}).find("'later' is not a component or an earlier"),
            std::string::npos);
  EXPECT_NE(error_of("components: [{name: a, type: classifier}, {name: b, type: classifier}]\n").find("`output`"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kRecipe) + "output: nothing\n").find("output 'nothing'"), std::string::npos);
  EXPECT_NE(error_of("components: [{name: a, type: classifier}, {name: a, type: classifier}]\n").find("used twice"),
            std::string::npos);
}

}  // namespace
}  // namespace wildreid::identify
