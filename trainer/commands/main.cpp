// `trainer`: the single wildreid binary. Subcommands (synth, pack, inspect, models, forward,
// train, ...) are registered from trainer/commands/*; errors become a message on stderr and a
// non-zero exit code, never an uncaught exception or abort.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "trainer/commands/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"wildreid trainer: data packing, distributed fine-tuning and identification for "
               "individual animal re-identification"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  wildreid::commands::add_synth(app);
  wildreid::commands::add_pack(app);
  wildreid::commands::add_inspect(app);
  wildreid::commands::add_batch(app);
  wildreid::commands::add_models(app);
  wildreid::commands::add_forward(app);
  wildreid::commands::add_identify(app);
  wildreid::commands::add_evaluate(app);
  wildreid::commands::add_train(app);
  wildreid::commands::add_embed(app);
  wildreid::commands::add_match(app);
  wildreid::commands::add_plan(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const wildreid::commands::CommandExit& e) {
    if (e.what()[0]) std::fprintf(stderr, "trainer: %s\n", e.what());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trainer: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
