// `trainer synth`: glue between CLI11 options and data::synthesize (data/synth.h documents the
// dataset it writes). Summary on stdout, progress on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "data/synth.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {

void add_synth(CLI::App& app) {
  auto options = std::make_shared<data::SynthOptions>();
  auto layout = std::make_shared<std::string>("animalclef");
  auto* cmd = app.add_subcommand(
      "synth",
      "Write a synthetic re-identification dataset, each individual a unique procedural pattern, each photo a "
      "new pose/scale/light/blur/noise/occlusion/JPEG quality. --layout animalclef (default): AnimalCLEF2025-"
      "shaped (metadata.csv, images/, solution.csv, sample_submission.csv), 3 datasets (SeaTurtleID2022, "
      "SalamanderID2025, LynxID2025); known individuals put max(1, images/5) photos in the query split (when "
      "images >= 3); unknown individuals appear only in the query split. --layout wildlifereid10k: "
      "WildlifeReID-10k-shaped (metadata.csv identity,path,species,date,orientation,split,dataset,cluster_id; "
      "split train/test), 4 other datasets (ZindiTurtleRecall, LeopardID2022, HyenaID2022, SealIDSegmented); "
      "every 7th individual a train singleton, the last max(1, images/5) photos of the others in test, unknown "
      "individuals only in test. Both pack with `trainer pack --format auto`. Byte-identical output for a seed "
      "at any thread count.");
  cmd->add_option("--out", options->out, "Output folder (written under a temporary name, renamed when complete)")
      ->required();
  cmd->add_option("--layout", *layout, "Dataset shape: animalclef | wildlifereid10k")
      ->check(CLI::IsMember({"animalclef", "wildlifereid10k"}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  cmd->add_option("--identities", options->identities, "Known individuals per dataset (train individuals for wildlifereid10k)")->capture_default_str();
  cmd->add_option("--unknowns", options->unknowns, "Query-only (test-only) individuals per dataset, absent from the database (train)")
      ->capture_default_str();
  cmd->add_option("--images", options->images, "Photos per known individual (unknowns get max(1, images/2))")
      ->capture_default_str();
  cmd->add_option("--size", options->size, "Square image side in pixels")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Render threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--overwrite", options->overwrite, "Replace --out when it exists (default: refuse)");
  cmd->add_flag("--quiet", options->quiet, "No progress output on stderr");
  cmd->callback([options, layout] {
    options->layout = data::parse_synth_layout(*layout);
    const auto r = data::synthesize(*options);
    if (options->layout == data::SynthLayout::kWildlifeReid10k) {
      std::printf("synth: wrote %s: %zu train images, %zu test images (%zu of train individuals, %zu unknown)\n",
                  options->out.string().c_str(), r.database_images, r.query_images, r.known_query_images,
                  r.unknown_query_images);
      return;
    }
    std::printf("synth: wrote %s: %zu database images, %zu query images (%zu of known individuals, %zu unknown)\n",
                options->out.string().c_str(), r.database_images, r.query_images, r.known_query_images,
                r.unknown_query_images);
  });
}

}  // namespace wildreid::commands
