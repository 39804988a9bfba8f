// See training_run.h. A run is these phases, in this order; each is one call into a file of its
// own, so a change to one (how data is split, how the model starts, what a checkpoint holds, what
// a step does) is made in one place:
//   1. run directory   RUN/checkpoints/ and the resolved RUN/config.yaml   (here)
//   2. data            shards, splits, batch geometry, loaders             (run_data.h)
//   3. model           backbone + init.from, objective, AdamW, reducer     (run_model.h)
//   4. resume          the checkpoint to continue from                     (run_checkpoints.h)
//   5. monitoring      exporter, progress line, metrics.jsonl, targets,    (monitoring/run_monitor.h)
//                      NVML GPU health on CUDA runs
//   6. loop            steps, validation, checkpoints, early stopping      (training_loop.h)
// The whole run allocates CPU tensors through models::CpuBlockCache, so a step reuses the blocks
// of the step before instead of page-faulting fresh ones.
// The model is created from run.seed on every rank and rank 0's state is broadcast, so every
// rank starts identical; everything after that is a collective sequence every rank follows.
#include "trainer/training_run.h"

#include <filesystem>
#include <stdexcept>

#include "checkpoints/atomic_file.h"
#include "cluster/nccl_process_group.h"
#include "models/cpu_block_cache.h"
#include "monitoring/run_monitor.h"
#include "trainer/run_checkpoints.h"
#include "trainer/run_data.h"
#include "trainer/run_model.h"
#include "trainer/training_loop.h"

namespace wildreid::trainer {
namespace fs = std::filesystem;
namespace {

// Phase 1. Rank 0 creates RUN/checkpoints/ and writes the resolved config.
void prepare_run_dir(const TrainConfig& config, const std::string& config_yaml, bool root) {
  if (config.run_dir.empty()) throw std::runtime_error("config: run.dir is empty");
  if (!root) return;
  const fs::path run_dir = config.run_dir;
  fs::create_directories(run_dir / "checkpoints");
  checkpoints::write_file_atomically(run_dir / "config.yaml", config_yaml);
}

// Phase 5's options: this rank's exporter and, on rank 0, the console and files.
monitoring::RunMonitorOptions monitor_options(const TrainConfig& config, const cluster::Cluster& cluster,
                                              int64_t total_steps) {
  monitoring::RunMonitorOptions o;
  o.port = static_cast<int>(config.metrics_port);
  o.bind = config.metrics_bind;
  o.port_fallback = config.metrics_port_fallback;
  o.linger_seconds = config.metrics_linger_s;
  o.job = config.metrics_job;
  o.run_dir = config.run_dir;
  o.rank = cluster.rank();
  o.local_rank = cluster.topology().local_rank;
  o.world_size = cluster.world_size();
  o.node = cluster.topology().node_name;
  o.is_rank0 = cluster.rank() == 0;
  o.total_steps = total_steps;
  o.log_every_steps = config.log_every;
  // GPU health through NVML for the GPU this rank drives, named by the UUID the cluster library
  // checks across ranks (NVML's device numbering is not CUDA's); CPU runs leave it empty.
  if (cluster.device().is_cuda()) o.nvml.gpu_uuid = cluster::gpu_uuid(cluster.device().index());
  return o;
}

}  // namespace

RunSummary run_training(const TrainConfig& config, const std::string& config_yaml, cluster::Cluster& cluster) {
  models::CpuBlockCache block_cache;
  prepare_run_dir(config, config_yaml, cluster.rank() == 0);                     // 1
  RunData data = setup_data(config, cluster.rank(), cluster.world_size());       // 2
  RunModel model = build_model(config, data.num_classes, cluster);               // 3
  RunCheckpoints checkpoints(config, config_yaml, cluster, model, data.geometry);
  const Progress progress = checkpoints.resume();                                // 4
  monitoring::RunMonitor monitor(monitor_options(config, cluster, data.geometry.total_steps));  // 5
  monitor.write_targets_file(cluster.process_group().allgather_strings(monitor.scrape_target()));
  TrainingLoop loop(config, cluster, data, model, checkpoints, monitor, progress);  // 6
  RunSummary summary = loop.run();
  monitor.close();
  return summary;
}

}  // namespace wildreid::trainer
