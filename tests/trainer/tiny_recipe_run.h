// Running a recipe from configs/ as it is, on a tiny `trainer synth` set: the recipe's own loss,
// schedule and init settings, with only the data, the run folder, the model size and the cluster
// settings overridden (convnext_atto at 32 px, one epoch, one rank, validation off). Shared by
// the tests that run recipes end to end (test_stages.cpp, test_recipes.cpp), each of which makes
// its own synth sets in a temporary root and runs `trainer` from WILDREID_BIN.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace wildreid::tests {

inline std::filesystem::path bin_dir() { return std::getenv("WILDREID_BIN") ? std::getenv("WILDREID_BIN") : "build/bin"; }

// Runs `command` with stdout and stderr appended to `log`; its exit code (128: did not exit).
inline int run_logged(const std::string& command, const std::filesystem::path& log) {
  const int status = std::system((command + " >> " + log.string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// `trainer synth` (identities per synth dataset, images each, 48 px) then `trainer pack` into
// `shards`; the synth set is written beside it as `shards`-synth. Exit code of the first failure.
inline int make_synth_shards(const std::filesystem::path& shards, int identities, int images,
                             const std::filesystem::path& log) {
  const std::string trainer = (bin_dir() / "trainer").string();
  const std::string synth = shards.string() + "-synth";
  if (int rc = run_logged(trainer + " synth --quiet --identities " + std::to_string(identities) + " --unknowns 1 --images " +
                              std::to_string(images) + " --size 48 --out " + synth,
                          log))
    return rc;
  return run_logged(trainer + " pack --metadata " + synth + "/metadata.csv --out " + shards.string(), log);
}

// Tiny stand-ins for a recipe's XL model and cluster settings; everything else as the recipe says.
inline std::vector<std::string> tiny_overrides(const std::filesystem::path& shards, const std::filesystem::path& run_dir,
                                               const std::string& init_from) {
  return {"data.shards=" + shards.string(), "run.dir=" + run_dir.string(), "init.from=" + init_from,
          "model.arch=convnext_atto", "model.img_size=32", "amp=off", "train.epochs=1", "train.micro_batch=8",
          "data.workers=1", "run.threads=1", "train.validate=false", "train.log_every=1000", "metrics.port=0"};
}

inline std::string recipe_train_command(const std::filesystem::path& recipe, const std::vector<std::string>& sets) {
  std::string cmd = (bin_dir() / "trainer").string() + " train --config " + recipe.string();
  for (const auto& s : sets) cmd += " --set " + s;
  return cmd;
}

}  // namespace wildreid::tests
