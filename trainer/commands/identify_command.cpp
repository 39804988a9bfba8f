// `trainer identify`: glue between CLI11 and identify::run_identify (identify/README.md
// documents the stage and every config key). Progress on stderr, the summary on stdout; with
// --solution the submission and every stage are also scored with the competition metric.
#include <ATen/Parallel.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "data/csv_reader.h"
#include "identify/competition_metric.h"
#include "identify/identify_run.h"
#include "identify/threshold.h"
#include "trainer/commands/commands.h"
#include "trainer/commands/pair_scorers.h"

namespace wildreid::commands {
namespace {

struct IdentifyOptions {
  std::string config, embeddings, out, shards, solution, device;
  std::vector<std::string> overrides;
  int threads = 0;
  bool quiet = false;
};

void print_scores(const identify::RunSummary& summary, const std::string& solution_path,
                  const std::filesystem::path& out) {
  const auto solution = data::read_csv_file(solution_path);
  const auto evaluation = identify::evaluate_answers(solution, summary.query_image_ids, summary.answers,
                                                     (out / "submission.csv").string());
  std::printf("\n%s", identify::evaluation_table(evaluation).c_str());
  std::printf("\nscore on %s, each stage at its own calibration-tuned threshold:\n", solution_path.c_str());
  for (const auto& stage : summary.stages) {
    std::vector<std::string> answers;
    for (const auto& p : stage.query) {
      const auto answer = identify::decide(p, stage.own_threshold);
      answers.push_back(answer == identify::kNewIndividual ? answer : identify::identity_of_key(answer));
    }
    const auto e = identify::evaluate_answers(solution, summary.query_image_ids, answers, stage.name);
    std::printf("  %-20s %.4f\n", stage.name.c_str(), e.score());
  }
  std::printf("  %-20s %.4f  (output '%s' at the run's threshold)\n", "submission", evaluation.score(),
              summary.output.c_str());
}

}  // namespace

void add_identify(CLI::App& app) {
  auto o = std::make_shared<IdentifyOptions>();
  auto* cmd = app.add_subcommand(
      "identify",
      "Identify every query image of an embeddings file (trainer embed --out): global similarity, WildFusion "
      "(isotonic-calibrated pipelines on a shortlist), classifier and MLP components, rule fusion, and a "
      "threshold (fixed, or tuned on a calibration set of database images with simulated unknowns) below which "
      "a query is new_individual. Writes DIR/submission.csv (image_id,identity in query order), "
      "DIR/predictions.csv (every stage's identity and confidence) and DIR/summary.json.");
  cmd->add_option("--config", o->config,
                  "Identify recipe (configs/identify_*.yaml; keys in identify/README.md)")
      ->required();
  cmd->add_option("--embeddings", o->embeddings, "Embeddings file written by trainer embed")->required();
  cmd->add_option("--out", o->out, "Output folder (created; files in it are replaced atomically)")->required();
  cmd->add_option("--set", o->overrides,
                  "Override a config key, e.g. --set threshold.mode=fixed --set threshold.value=0.6 or "
                  "--set components.wildfusion.shortlist=all (list items by index or name; repeatable)");
  cmd->add_option("--shards", o->shards,
                  "Shard set the local pipelines read images from (default: the one recorded in the embeddings file)");
  cmd->add_option("--solution", o->solution,
                  "Ground truth CSV (as for trainer evaluate): also print the competition score of the submission "
                  "and of every stage");
  cmd->add_option("--device", o->device, "Overrides compute.device: auto (CUDA when present), cpu, cuda[:N]");
  cmd->add_option("--threads", o->threads, "Intra-op CPU threads (0 = LibTorch default)")->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress lines on stderr");
  cmd->callback([o] {
    if (o->threads > 0) at::set_num_threads(o->threads);
    auto overrides = o->overrides;
    if (!o->device.empty()) overrides.push_back("compute.device=" + o->device);
    identify::RunOptions run;
    run.config = identify::load_identify_config(o->config, overrides);
    run.embeddings = o->embeddings;
    run.out = o->out;
    run.shards = o->shards;
    run.scorer_factory = pair_scorer_factory();
    if (!o->quiet) run.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const auto summary = identify::run_identify(run);
    std::printf("%s", identify::summary_text(summary).c_str());
    std::printf("identify: wrote %s/submission.csv, predictions.csv, summary.json\n", o->out.c_str());
    if (!o->solution.empty()) print_scores(summary, o->solution, o->out);
  });
}

}  // namespace wildreid::commands
