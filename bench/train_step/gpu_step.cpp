// Single-GPU training-step check, built with LibTorch alone (bench/gpu_check.sh runs it with
// -DWILDREID_LIBTORCH_ONLY=ON on the lent GPU machine). Two modes:
//   throughput (default): bf16 steps of --arch at --img with --batch through our TrainStep,
//     fused AdamW and the bucketed reducer on a world-size-1 NCCL process group; prints images/s
//     and MFU (training FLOPs = 6 x forward GMACs per image, over --peak-tflops);
//     twice: reading every step's results on the host (a synchronisation per step, as the trainer
//     did before its results stayed on the device) and reading them once at the end, with the
//     ratio; then the per-phase GPU times (CUDA events) against the wall time per step;
//     (a --batch that does not fit is halved until it does, and said);
//   --max-batch: the largest micro-batch that fits, with and without activation checkpointing
//     (a ladder of sizes up to 256, then bisection to the exact size);
//   --ckpt-equivalence: bf16 steps at lr 1e-3 with and without activation checkpointing from the
//     same init and data: the losses and weights must agree (exit 1 otherwise).
// Plain argv parsing (no CLI11: the GPU machine has only LibTorch).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <vector>
#include <string>

#include "bench/train_step/step_model.h"
#include "cluster/gradient_reducer.h"
#include "cluster/nccl_process_group.h"
#include "cluster/rendezvous_store.h"
#include "trainer/gradient_sync.h"

using namespace wildreid;

namespace {

class ReducerSync final : public trainer::GradientSync {
 public:
  explicit ReducerSync(cluster::GradientReducer& r) : r_(r) {}
  void set_sync(bool on) override { r_.set_sync(on); }
  double finish() override { return r_.finish(); }
  int world_size() const override { return 1; }

 private:
  cluster::GradientReducer& r_;
};

struct Args {
  std::string arch = "convnext_xlarge";
  int64_t img = 384, batch = 32, steps = 10, warmup = 3, classes = 1000;
  double gmacs = 179.2, peak_tflops = 989.0;
  bool max_batch = false;
  bool ckpt_equivalence = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "bench_gpu_step: %s needs a value\n", k.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (k == "--arch") a.arch = next();
    else if (k == "--img") a.img = std::stoll(next());
    else if (k == "--batch") a.batch = std::stoll(next());
    else if (k == "--steps") a.steps = std::stoll(next());
    else if (k == "--warmup") a.warmup = std::stoll(next());
    else if (k == "--classes") a.classes = std::stoll(next());
    else if (k == "--gmacs") a.gmacs = std::stod(next());
    else if (k == "--peak-tflops") a.peak_tflops = std::stod(next());
    else if (k == "--max-batch") a.max_batch = true;
    else if (k == "--ckpt-equivalence") a.ckpt_equivalence = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_gpu_step [--arch convnext_xlarge] [--img 384] [--batch 32] [--steps 10] [--warmup 3]\n"
                   "                      [--classes 1000] [--gmacs 179.2] [--peak-tflops 989] [--max-batch]\n"
                   "                      [--ckpt-equivalence]\n");
      std::exit(k == "--help" ? 0 : 2);
    }
  }
  return a;
}

struct Rig {
  Rig(const Args& a, bool grad_ckpt, std::shared_ptr<cluster::ProcessGroup> group)
      : m((at::manual_seed(0), bench::make_step_model(a.arch, a.classes, a.img, grad_ckpt, c10::Device(c10::kCUDA, 0)))),
        optimizer(m.named, {}),
        scaler(false, 1.0, 2000, c10::Device(c10::kCUDA, 0)),
        reducer(m.params, group),
        sync(reducer),
        step([this](const at::Tensor& x) { return m.model->forward(x); }, m.params, optimizer, scaler, sync,
             trainer::StepOptions{trainer::AmpMode::kBf16, 0.0, 1.0}) {}
  bench::StepModel m;
  trainer::AdamW optimizer;
  trainer::GradScaler scaler;
  cluster::GradientReducer reducer;
  ReducerSync sync;
  trainer::TrainStep step;
};

// True when one step at `batch` fits in memory.
bool fits(Rig& rig, const Args& a, int64_t batch) {
  try {
    rig.step.run({bench::random_batch(batch, a.img, a.classes, c10::Device(c10::kCUDA, 0))}, 1e-5);
    c10::cuda::device_synchronize();
    return true;
  } catch (const c10::OutOfMemoryError&) {
    c10::cuda::CUDACachingAllocator::emptyCache();
    return false;
  }
}

// The largest micro-batch that fits: a coarse ladder up to kLargestProbe, then bisection between
// the last size that fitted and the first that did not (a few more steps, exact answer).
constexpr int64_t kLargestProbe = 256;
int64_t largest_fitting_batch(Rig& rig, const Args& a) {
  int64_t best = 0, failed = 0;
  for (int64_t b : std::initializer_list<int64_t>{1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, kLargestProbe}) {
    if (!fits(rig, a, b)) {
      failed = b;
      break;
    }
    best = b;
  }
  while (failed > best + 1) {
    const int64_t mid = (best + failed) / 2;
    (fits(rig, a, mid) ? best : failed) = mid;
  }
  return best;
}

// bf16 training with and without activation checkpointing from the same init and data.
int ckpt_equivalence(const Args& a, std::shared_ptr<cluster::ProcessGroup> group) {
  std::vector<double> losses[2];
  std::vector<at::Tensor> weights[2];
  at::manual_seed(1);
  std::vector<trainer::MicroBatch> data;
  for (int i = 0; i < 3; ++i) data.push_back(bench::random_batch(a.batch, a.img, a.classes, c10::Device(c10::kCUDA, 0)));
  for (int ckpt = 0; ckpt < 2; ++ckpt) {
    Rig rig(a, ckpt == 1, group);
    for (const auto& batch : data) losses[ckpt].push_back(rig.step.run({batch, batch}, 1e-3).read().loss);
    for (const auto& p : rig.m.params) weights[ckpt].push_back(p.detach().cpu());
  }
  double weight_diff = 0;
  for (size_t i = 0; i < weights[0].size(); ++i)
    weight_diff = std::max(weight_diff, (weights[0][i] - weights[1][i]).abs().max().item<double>());
  bool ok = weight_diff <= 1e-3;
  std::printf("%s_ckpt_equivalence losses_plain", a.arch.c_str());
  for (double l : losses[0]) std::printf(" %.5f", l);
  std::printf(" losses_checkpointed");
  for (size_t i = 0; i < losses[1].size(); ++i) {
    std::printf(" %.5f", losses[1][i]);
    ok = ok && std::abs(losses[1][i] - losses[0][i]) <= 1e-3 * std::abs(losses[0][i]);
  }
  std::printf(" max_weight_diff %.3g %s\n", weight_diff, ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}

// bf16 steps at the micro-batch: images/s with per-step and deferred host reads, MFU, phase times.
int throughput(Rig& rig, const Args& a, const std::shared_ptr<cluster::ProcessGroup>& group) {
  const auto data = bench::random_batch(a.batch, a.img, a.classes, c10::Device(c10::kCUDA, 0));
  for (int64_t i = 0; i < a.warmup; ++i) rig.step.run({data}, 1e-5);
  c10::cuda::device_synchronize();
  const std::string tag = a.arch + "_" + std::to_string(a.img) + "px_bf16_batch" + std::to_string(a.batch);
  double per_mode[2] = {0, 0};
  std::vector<trainer::StepResult> results;
  for (int deferred = 0; deferred < 2; ++deferred) {
    results.clear();
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < a.steps; ++i) {
      results.push_back(rig.step.run({data}, 1e-5));
      if (!deferred) results.back().read();  // the host sync of every step
    }
    c10::cuda::device_synchronize();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    per_mode[deferred] = static_cast<double>(a.batch * a.steps) / seconds;
    std::printf("%s images_per_s_%s %.1f\n", tag.c_str(), deferred ? "results_read_once" : "results_read_every_step",
                per_mode[deferred]);
  }
  std::printf("%s deferred_vs_every_step_ratio %.3f\n", tag.c_str(), per_mode[1] / per_mode[0]);
  const double images_per_s = per_mode[1];
  const double mfu = images_per_s * 6.0 * a.gmacs * 1e9 / (a.peak_tflops * 1e12);
  std::printf("%s images_per_s %.1f\n", tag.c_str(), images_per_s);
  std::printf("%s mfu %.3f\n", tag.c_str(), mfu);
  // GPU time per phase (events) against the wall time of a step: they should add up.
  trainer::PhaseTimes sum;
  for (const auto& r : results) {
    const auto p = r.read().phases;
    sum.forward += p.forward;
    sum.backward += p.backward;
    sum.allreduce_wait += p.allreduce_wait;
    sum.optimizer += p.optimizer;
  }
  const double n = static_cast<double>(results.size());
  const double phases = (sum.forward + sum.backward + sum.allreduce_wait + sum.optimizer) / n;
  std::printf("%s phase_ms forward %.2f backward %.2f allreduce_wait %.2f optimizer %.2f sum %.2f wall_per_step %.2f\n",
              tag.c_str(), 1e3 * sum.forward / n, 1e3 * sum.backward / n, 1e3 * sum.allreduce_wait / n,
              1e3 * sum.optimizer / n, 1e3 * phases, 1e3 * a.batch / images_per_s);
  group->shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (!cluster::cuda_available()) {
    std::fprintf(stderr, "bench_gpu_step: no CUDA device visible\n");
    return 1;
  }
  cluster::StoreEndpoint endpoint{"127.0.0.1", 0};
  auto store = cluster::open_store_server(endpoint, 1, std::chrono::seconds(60));
  auto group = cluster::make_nccl_process_group(store, 0, 1, 0, 1, std::chrono::seconds(300));
  at::manual_seed(0);
  if (a.max_batch) {
    for (bool ckpt : {false, true}) {
      Rig rig(a, ckpt, group);
      const int64_t best = largest_fitting_batch(rig, a);
      std::printf("%s_%lldpx_max_micro_batch_%s %s%lld\n", a.arch.c_str(), static_cast<long long>(a.img),
                  ckpt ? "with_activation_checkpointing" : "without_activation_checkpointing",
                  best >= kLargestProbe ? ">=" : "", static_cast<long long>(best));
    }
    group->shutdown();
    return 0;
  }
  if (a.ckpt_equivalence) {
    const int rc = ckpt_equivalence(a, group);
    group->shutdown();
    return rc;
  }
  Rig rig(a, false, group);
  Args run = a;  // the requested micro-batch, halved until a step fits on this GPU
  while (run.batch > 1 && !fits(rig, run, run.batch)) run.batch /= 2;
  if (run.batch != a.batch)
    std::printf("%s: micro-batch %lld does not fit without checkpointing; measuring at %lld\n", a.arch.c_str(),
                static_cast<long long>(a.batch), static_cast<long long>(run.batch));
  return throughput(rig, run, group);
}

