// `trainer inspect DIR`: prints counts and checksum verification (data/inspect.h); exits non-zero
// naming every failing shard.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "data/inspect.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {

void add_inspect(CLI::App& app) {
  struct Options {
    std::filesystem::path dir;
    bool quiet = false;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "inspect",
      "Print record counts per split, dataset and species of a shard set and verify every shard file's "
      "checksum (manifest.json) and every record's CRC32C. Exits 1 naming each failing shard.");
  cmd->add_option("DIR", options->dir, "Shard set folder (holding manifest.json)")->required();
  cmd->add_flag("--quiet", options->quiet, "No progress output on stderr");
  cmd->callback([options] {
    const auto report = data::inspect_shards(options->dir, options->quiet);
    std::fputs(data::format_inspect_report(report).c_str(), stdout);
    std::fflush(stdout);
    if (!report.ok()) {
      std::string shards;
      for (const auto& f : report.failures) shards += "\n  " + f;
      throw CommandExit(1, "inspect: " + options->dir.string() + " failed verification:" + shards);
    }
  });
}

}  // namespace wildreid::commands
