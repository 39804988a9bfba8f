// bench_cluster_reducer: one training step's forward + backward + gradient averaging on an MLP
// (8 x Linear(1024, 1024), 8.4 M parameters, batch 32, one torch thread per rank), three ways
// in one run, alternating rounds so machine drift hits all of them:
//   local      backward only, no communication (the compute floor)
//   bucketed   GradientReducer: 4 MiB buckets started from the hooks during backward
//   per_param  backward, then one blocking allreduce per parameter (the pytorch/examples way)
//   view       bucketed with gradient_as_bucket_view, grads zeroed in place between steps
//   deferred   bucketed, views, but every bucket started in finish() (overlap = false)
// `mpirun -np 2 --oversubscribe build/bin/bench_cluster_reducer`; rank 0 prints ms per step,
// the exposed wait of the bucketed reducer, and the ratios per_param / bucketed and
// per_param / view and per_param / deferred (> 1: faster).
#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cluster/cluster.h"
#include "cluster/gradient_reducer.h"

using namespace wildreid::cluster;

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  ClusterOptions options;
  options.threads_per_rank = 1;
  auto cluster = Cluster::start(options, &argc, &argv);
  ProcessGroup& group = cluster->process_group();
  torch::nn::Sequential net;
  for (int i = 0; i < 8; ++i) {
    net->push_back(torch::nn::Linear(1024, 1024));
    net->push_back(torch::nn::ReLU());
  }
  broadcast_module_state(*net, group);
  GradientReducerOptions reducer_options;
  reducer_options.bucket_cap_bytes = 4 << 20;
  auto reducer = std::make_unique<GradientReducer>(net->parameters(),
                                                   cluster->shared_process_group(),
                                                   reducer_options);
  auto x = at::randn({32, 1024});

  auto step = [&](int mode) {
    for (auto& p : net->parameters()) {
      if (mode >= 3 && p.grad().defined()) p.mutable_grad().zero_();
      else p.mutable_grad() = at::Tensor();
    }
    reducer->set_sync(mode != 0 && mode != 2);
    net->forward(x).pow(2).mean().backward();
    if (mode != 0 && mode != 2) reducer->finish();
    if (mode == 2)
      for (auto& p : net->parameters()) group.allreduce(p.grad(), ReduceOp::kAvg);
  };
  const char* names[] = {"local", "bucketed", "per_param", "view", "deferred"};
  double total[5] = {0, 0, 0, 0, 0}, exposed = 0;
  const int rounds = 4, steps = 5;
  for (int round = 0; round <= rounds; ++round) {  // round 0 is the warm-up
    for (int m = 0; m < 5; ++m) {
      // One reducer per mode: bucket views stay attached to the grads they replaced.
      reducer_options.gradient_as_bucket_view = m >= 3;
      reducer_options.overlap = m != 4;
      reducer.reset();
      reducer = std::make_unique<GradientReducer>(net->parameters(),
                                                  cluster->shared_process_group(),
                                                  reducer_options);
      step(m);
      group.barrier();
      double start = now_s();
      for (int s = 0; s < steps; ++s) {
        step(m);
        if (m == 1 && round > 0) exposed += reducer->last_stats().wait_seconds;
      }
      if (round > 0) total[m] += now_s() - start;
    }
  }
  if (cluster->rank() == 0) {
    const int n = rounds * steps;
    std::printf("world %d, %s backend, 1 torch thread per rank, %d steps each, %lld buckets\n",
                cluster->world_size(), group.backend_name().c_str(), n,
                static_cast<long long>(reducer->num_buckets()));
    for (int m = 0; m < 5; ++m) std::printf("step_ms %-9s %.1f\n", names[m], total[m] / n * 1e3);
    std::printf("bucketed exposed_wait_ms %.1f\n", exposed / n * 1e3);
    std::printf("ratio per_param/bucketed %.2f\n", total[2] / total[1]);
    std::printf("ratio per_param/view %.2f\n", total[2] / total[3]);
    std::printf("ratio per_param/deferred %.2f\n", total[2] / total[4]);
  }
  cluster->shutdown();
  return 0;
}
