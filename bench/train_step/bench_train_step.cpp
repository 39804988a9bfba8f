// CPU step throughput of our trainer core under mpirun (MPI collectives, bucketed reducer),
// on random images so only the training step is measured, the same work as the Python
// baseline tools/ddp_train_step_baseline.py (timm + torch DDP, gloo). run.sh runs both side by
// side and prints the ratios. Prints one line on rank 0: "<label> images_per_s <value>".
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "bench/train_step/step_model.h"
#include "cluster/cluster.h"
#include "cluster/gradient_reducer.h"
#include "trainer/cluster_gradient_sync.h"

using namespace wildreid;

int main(int argc, char** argv) {
  CLI::App app{"Training-step throughput of the wildreid trainer core on CPU (run under mpirun)"};
  std::string arch = "convnext_atto", label = "ours", amp = "off";
  int64_t img = 64, batch = 16, steps = 20, warmup = 3, classes = 100;
  int threads = 1;
  app.add_option("--arch", arch, "Model (timm name)")->capture_default_str();
  app.add_option("--img", img, "Image side")->capture_default_str();
  app.add_option("--batch", batch, "Images per rank per step")->capture_default_str();
  app.add_option("--steps", steps, "Timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "Untimed steps first")->capture_default_str();
  app.add_option("--classes", classes, "Classifier width")->capture_default_str();
  app.add_option("--threads", threads, "Torch threads per rank")->capture_default_str();
  app.add_option("--amp", amp, "off | bf16")->capture_default_str();
  app.add_option("--label", label, "Name printed before the figure")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  cluster::ClusterOptions options;
  options.threads_per_rank = threads;
  options.watchdog = false;
  auto cluster = cluster::Cluster::start(options, &argc, &argv);
  at::manual_seed(0);
  auto m = bench::make_step_model(arch, classes, img, false, cluster->device());
  cluster::broadcast_module_state(*m.model, cluster->process_group());
  trainer::AdamW optimizer(m.named, {});
  trainer::GradScaler scaler(false, 1.0, 2000, cluster->device());
  cluster::GradientReducer reducer(m.params, cluster->shared_process_group());
  trainer::ClusterGradientSync sync(reducer, cluster->world_size());
  trainer::StepOptions step_options;
  step_options.amp = amp == "bf16" ? trainer::AmpMode::kBf16 : trainer::AmpMode::kOff;
  trainer::TrainStep step([&](const at::Tensor& x) { return m.model->forward(x); }, m.params, optimizer, scaler,
                          sync, step_options);
  const auto data = bench::random_batch(batch, img, classes, cluster->device());
  for (int64_t i = 0; i < warmup; ++i) step.run({data}, 1e-4);
  cluster->process_group().barrier();
  const auto start = std::chrono::steady_clock::now();
  double wait = 0;
  for (int64_t i = 0; i < steps; ++i) wait += step.run({data}, 1e-4).read().phases.allreduce_wait;
  cluster->process_group().barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (cluster->rank() == 0)
    std::printf("%s images_per_s %.2f  (world %d, %d thread(s)/rank, batch %lld/rank, %s %lldpx, exposed allreduce %.1f%%)\n",
                label.c_str(), static_cast<double>(batch * steps * cluster->world_size()) / seconds,
                cluster->world_size(), threads, static_cast<long long>(batch), arch.c_str(),
                static_cast<long long>(img), 100.0 * wait / seconds);
  cluster->shutdown();
  return 0;
}
