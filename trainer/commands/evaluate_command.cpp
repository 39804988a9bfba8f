// `trainer evaluate`: the competition metric on a submission file (identify/competition_metric.h
// states it); a table on stdout, or JSON with --json.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "data/csv_reader.h"
#include "identify/competition_metric.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {

void add_evaluate(CLI::App& app) {
  struct Options {
    std::string solution, submission;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Score a submission with the AnimalCLEF2025 metric: per dataset BAKS (mean over known identities of "
      "per-identity accuracy) and BAUS (mean over unknown identities of the per-identity rate of "
      "new_individual), dataset score sqrt(BAKS*BAUS) (0 when either side is empty), final score = mean over "
      "datasets; Public/Private rows when the solution has a Usage column. A submission whose image_ids differ "
      "from the solution's is refused naming the first missing or extra id.");
  cmd->add_option("--solution", o->solution,
                  "Ground truth CSV: image_id,identity,dataset[,new_identity][,Usage] (trainer synth writes one); "
                  "unknowns are rows whose new_identity (or identity) is new_individual")
      ->required();
  cmd->add_option("--submission", o->submission, "Submission CSV: image_id,identity (trainer identify writes one)")
      ->required();
  cmd->add_flag("--json", o->json, "Print JSON instead of the table");
  cmd->callback([o] {
    const auto evaluation =
        identify::evaluate_submission(data::read_csv_file(o->solution), data::read_csv_file(o->submission));
    if (o->json) std::printf("%s\n", identify::evaluation_json(evaluation).dump(2).c_str());
    else std::printf("%sscore %.6f\n", identify::evaluation_table(evaluation).c_str(), evaluation.score());
  });
}

}  // namespace wildreid::commands
