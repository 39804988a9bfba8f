// `trainer train`: distributed fine-tuning from a YAML recipe. Launched as
//   [mpirun -np N [--oversubscribe]] trainer train --config FILE [--set key=value ...]
// Every rank parses the same config; the cluster (MPI, rendezvous, collectives, watchdog) is
// started here and handed to the training loop. Exit codes: 0 done; 1 error (message names the
// file/key/rank); 75 stopped by SIGTERM/SIGUSR1 after writing a checkpoint (resume: auto picks
// it up); 76 a peer rank failed (from the cluster watchdog).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>

#include "cluster/cluster.h"
#include "trainer/commands/commands.h"
#include "trainer/commands/rank_failure.h"
#include "trainer/config_loader.h"
#include "trainer/run_dir_lock.h"
#include "trainer/stop_signal.h"
#include "trainer/training_run.h"

namespace wildreid::commands {
namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string backend = "auto";
  double peer_timeout_s = 30;
  bool print_config = false;
};

void run_train(const TrainArgs& args) {
  const trainer::TrainConfig config = trainer::load_config(args.config, args.overrides);
  const std::string resolved = trainer::config_to_yaml(config);
  if (args.print_config) {
    std::fputs(resolved.c_str(), stdout);
    return;
  }
  trainer::install_stop_signal_handlers();
  cluster::ClusterOptions options;
  options.backend = cluster::parse_backend(args.backend);
  options.collective_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.collective_timeout_s * 1000));
  options.peer_timeout = std::chrono::milliseconds(static_cast<int64_t>(args.peer_timeout_s * 1000));
  options.threads_per_rank = static_cast<int>(config.threads);
  auto cluster = cluster::Cluster::start(options);
  trainer::RunSummary summary;
  std::optional<trainer::RunDirLock> run_dir_lock;  // one trainer per run.dir (held by rank 0)
  run_reporting_failure(*cluster, [&] {
    if (cluster->rank() == 0 && !config.run_dir.empty()) run_dir_lock.emplace(config.run_dir);
    summary = trainer::run_training(config, resolved, *cluster);
  });
  cluster->shutdown();
  if (cluster->rank() == 0) {
    std::string validation;
    if (summary.best_val_accuracy >= 0) {
      char best[48];
      std::snprintf(best, sizeof(best), "best val top-1 %.4f", summary.best_val_accuracy);
      validation = best;
    } else if (summary.validated) {
      validation = "no validation finished";
    } else {
      validation = config.validate ? "validation off (no '" + config.data_val_split + "' split in data.shards)"
                                   : "validation off (train.validate=false)";
    }
    std::fprintf(stderr, "trainer: finished at step %lld, %s, %lld non-finite steps skipped\n",
                 static_cast<long long>(summary.steps), validation.c_str(), static_cast<long long>(summary.skipped_steps));
  }
  if (summary.exit_code != 0)
    throw CommandExit(summary.exit_code, "stopped by signal after writing the checkpoint of step " +
                                             std::to_string(summary.steps) + " (exit code " +
                                             std::to_string(summary.exit_code) + ")");
}

}  // namespace

void add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Fine-tune a backbone across MPI ranks: [mpirun -np N] trainer train --config FILE "
               "[--set key=value ...]");
  cmd->add_option("--config", args->config, "YAML recipe (see configs/); keys below")->check(CLI::ExistingFile);
  cmd->add_option("--set", args->overrides, "Override one config key, e.g. --set optim.lr=4e-5 (repeatable)");
  cmd->add_option("--backend", args->backend, "Collectives: auto (NCCL with CUDA, else MPI) | nccl | mpi | single")
      ->capture_default_str();
  cmd->add_option("--peer-timeout", args->peer_timeout_s,
                  "Seconds without a peer's heartbeat before this rank exits with code 76")
      ->capture_default_str();
  cmd->add_flag("--print-config", args->print_config, "Print the resolved config as YAML and exit");
  cmd->footer("Exit codes: 0 done, 1 error, 75 stopped by SIGTERM/SIGUSR1 after a checkpoint, "
              "76 a peer rank failed.\nConfig keys (YAML nesting = dots):\n" + trainer::config_keys_help());
  cmd->callback([args] { run_train(*args); });
}

}  // namespace wildreid::commands
