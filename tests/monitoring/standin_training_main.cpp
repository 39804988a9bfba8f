// monitoring_standin_training: publishes the trainer's metrics from every MPI rank through
// RunMonitor, with synthetic step timings, so the Prometheus integration test can check the
// dashboard's PromQL without a model. It does what the trainer must do for monitoring: start a
// RunMonitor per rank, gather every rank's scrape target over MPI, have rank 0 write the
// file_sd targets file, report steps and validations, close. With --nvml-library and --gpu-uuid
// (the fake NVML of fake_nvml.c in the tests) every rank also publishes GPU health, as a CUDA
// run of the trainer does.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "monitoring/run_monitor.h"

using namespace wildreid::monitoring;

namespace {

const char* kUsage =
    "usage: monitoring_standin_training --port P [--bind ADDR=127.0.0.1] [--run-dir DIR]\n"
    "         [--job NAME=standin] [--steps N=40] [--step-ms MS=200] [--linger S=3]\n"
    "         [--nvml-library PATH --gpu-uuid UUID]\n";

int local_rank_from_env() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  RunMonitorOptions o;
  o.bind = "127.0.0.1";
  o.job = "standin";
  int steps = 40, step_ms = 200;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
      return argv[++i];
    };
    if (a == "--port") o.port = std::stoi(next());
    else if (a == "--bind") o.bind = next();
    else if (a == "--run-dir") o.run_dir = next();
    else if (a == "--job") o.job = next();
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--step-ms") step_ms = std::stoi(next());
    else if (a == "--linger") o.linger_seconds = std::stod(next());
    else if (a == "--nvml-library") o.nvml.library = next();
    else if (a == "--gpu-uuid") o.nvml.gpu_uuid = next();
    else {
      std::fprintf(stderr, "unknown option %s\n%s", a.c_str(), kUsage);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  o.rank = rank;
  o.local_rank = local_rank_from_env();
  o.world_size = world;
  o.is_rank0 = rank == 0;
  o.total_steps = steps;
  o.progress = ProgressMode::kPlain;
  try {
    RunMonitor monitor(o);
    char mine[256] = {0};
    std::snprintf(mine, sizeof(mine), "%s", monitor.scrape_target().c_str());
    std::vector<char> all(256 * static_cast<size_t>(world));
    MPI_Allgather(mine, 256, MPI_CHAR, all.data(), 256, MPI_CHAR, MPI_COMM_WORLD);
    std::vector<std::string> targets;
    for (int r = 0; r < world; ++r) targets.emplace_back(&all[256 * static_cast<size_t>(r)]);
    monitor.write_targets_file(targets);
    for (int s = 1; s <= steps; ++s) {
      double t = step_ms / 1000.0;
      std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
      StepStats st;
      st.epoch = (s - 1) / 10;
      st.step = s;
      st.images = 8;
      st.loss = 5.0 / s;
      st.lr = 1e-3 * s / steps;
      st.grad_norm = 1.0;
      st.phases = {0.1 * t, 0.3 * t, 0.4 * t, 0.1 * t, 0.1 * t};
      st.step_seconds = t;
      st.prefetch_depth = 2;
      monitor.on_step(st);
      if (s % 10 == 0) monitor.on_validation(st.epoch, 1.0 / s, 0.01 * s);
    }
    monitor.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return 0;
}
