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
  auto* cmd = app.add_subcommand(
      "synth",
      "Write a synthetic AnimalCLEF2025-shaped dataset (metadata.csv, images/, solution.csv, "
      "sample_submission.csv): 3 datasets (SeaTurtleID2022, SalamanderID2025, LynxID2025), each individual a "
      "unique procedural pattern, each photo a new pose/scale/light/blur/noise/occlusion/JPEG quality. "
      "Known individuals put max(1, images/5) photos in the query split (when images >= 3); unknown "
      "individuals appear only in the query split. Byte-identical output for a seed at any thread count.");
  cmd->add_option("--out", options->out, "Output folder (written under a temporary name, renamed when complete)")
      ->required();
  cmd->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  cmd->add_option("--identities", options->identities, "Known individuals per dataset")->capture_default_str();
  cmd->add_option("--unknowns", options->unknowns, "Query-only individuals per dataset (absent from the database)")
      ->capture_default_str();
  cmd->add_option("--images", options->images, "Photos per known individual (unknowns get max(1, images/2))")
      ->capture_default_str();
  cmd->add_option("--size", options->size, "Square image side in pixels")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Render threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--overwrite", options->overwrite, "Replace --out when it exists (default: refuse)");
  cmd->add_flag("--quiet", options->quiet, "No progress output on stderr");
  cmd->callback([options] {
    const auto r = data::synthesize(*options);
    std::printf("synth: wrote %s: %zu database images, %zu query images (%zu of known individuals, %zu unknown)\n",
                options->out.string().c_str(), r.database_images, r.query_images, r.known_query_images,
                r.unknown_query_images);
  });
}

}  // namespace wildreid::commands
