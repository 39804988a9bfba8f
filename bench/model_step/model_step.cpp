// model_step: forward+backward images/s of our backbones vs Python timm on the same model, batch,
// input size and thread count, in the same run (GUIDE §6). One line per architecture:
//   <arch> batch=8 size=224 threads=2 ... cpp=<img/s> timm=<img/s> ratio=<cpp/timm>
//     cpu: cpp=<img per CPU-second> timm=<...> ratio=<...>
// The per-CPU-second figures (process CPU time) stay comparable on a loaded shared machine, where
// wall-clock images/s mostly measure how much of the cores the other tenants left us.
// Both sides run training mode, fp32 (or bf16 autocast on CUDA), cross-entropy on random labels,
// no optimizer step, after warm-up iterations. Ours runs under the caching CPU allocator that
// trainer train installs (models/cpu_block_cache.h; --no-block-cache without). Architectures not
// (yet) in the registry are reported as such and skipped. Needs LibTorch only (plain argv parsing, no CLI11), so it builds
// on the GPU machine too; the timm side needs $WILDREID_PYTHON with timm (--no-python skips it).
// --trace DIR profiles one more step on each side after the timed ones and writes Chrome traces
// (DIR/<arch>.cpp.json, DIR/<arch>.timm.json) for tools/trace_op_table.py to compare op by op.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <chrono>
#include <ctime>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "models/cpu_block_cache.h"
#include "models/registry.h"

namespace {

struct Args {
  std::vector<std::string> archs{"convnext_tiny", "swin_tiny_patch4_window7_224", "maxvit_tiny_tf_224"};
  int64_t batch = 8, size = 224, iters = 3, warmup = 1;
  int threads = 2;
  std::string device = "cpu";
  bool bf16 = false;
  bool python = true;
  bool channels_last = false;       // ours: ModelOptions::channels_last (conv families; trainer train: off)
  bool timm_channels_last = false;  // timm: model and input .to(memory_format=torch.channels_last)
  bool block_cache = true;          // ours: models::CpuBlockCache, as trainer train runs
  std::string python_path;
  std::string trace_dir;  // empty: no profiling
};

void usage() {
  std::printf(
      "model_step [options]\n"
      "  --archs A,B,...   architectures (default convnext_tiny,swin_tiny_patch4_window7_224,maxvit_tiny_tf_224)\n"
      "  --batch N         batch size (default 8)\n"
      "  --size N          input side (default 224)\n"
      "  --iters N         timed iterations (default 3)\n"
      "  --warmup N        untimed iterations first (default 1)\n"
      "  --threads N       intra-op threads on both sides (default 2)\n"
      "  --device D        cpu or cuda (default cpu)\n"
      "  --bf16            bf16 autocast (CUDA; default fp32)\n"
      "  --channels-last   our conv families' input and weights NHWC too (trainer train does not)\n"
      "  --timm-channels-last  run timm NHWC too (timm train.py's --channels-last)\n"
      "  --no-block-cache  ours without the caching CPU allocator trainer train installs\n"
      "  --no-python       skip the Python timm baseline\n"
      "  --python PATH     interpreter with timm (default $WILDREID_PYTHON, else the configured one)\n"
      "  --trace DIR       also profile one step per side: DIR/<arch>.cpp.json, DIR/<arch>.timm.json\n");
}

Args parse(int argc, char** argv) {
  Args a;
  a.python_path = wildreid::bench::python_interpreter(WILDREID_PYTHON_DEFAULT);
  for (wildreid::bench::ArgWalker args(argc, argv); args.next();) {
    const std::string k = args.key();
    auto next = [&args] { return args.value(); };
    if (k == "--archs") {
      a.archs.clear();
      std::stringstream ss(next());
      for (std::string s; std::getline(ss, s, ',');) a.archs.push_back(s);
    } else if (k == "--batch") a.batch = std::stoll(next());
    else if (k == "--size") a.size = std::stoll(next());
    else if (k == "--iters") a.iters = std::stoll(next());
    else if (k == "--warmup") a.warmup = std::stoll(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--device") a.device = next();
    else if (k == "--bf16") a.bf16 = true;
    else if (k == "--no-python") a.python = false;
    else if (k == "--no-block-cache") a.block_cache = false;
    else if (k == "--channels-last") a.channels_last = true;
    else if (k == "--timm-channels-last") a.timm_channels_last = true;
    else if (k == "--python") a.python_path = next();
    else if (k == "--trace") a.trace_dir = next();
    else if (k == "--help" || k == "-h") {
      usage();
      std::exit(0);
    } else throw std::runtime_error("unknown option " + k + " (see --help)");
  }
  return a;
}

struct Rate {
  double wall = 0;  // images per wall-clock second
  double cpu = 0;   // images per process CPU-second
};

Rate cpp_images_per_second(const std::string& arch, const Args& a) {
  std::optional<wildreid::models::CpuBlockCache> cache;
  if (a.block_cache && a.device == "cpu") cache.emplace();
  wildreid::models::ModelOptions o;
  o.img_size = a.size;
  o.channels_last = a.channels_last;
  auto model = wildreid::models::create_model(arch, o);
  at::Device device(a.device);
  model->to(device);
  model->train();
  at::manual_seed(0);
  at::Tensor x = at::randn({a.batch, 3, a.size, a.size}).to(device);
  at::Tensor y = at::randint(0, 1000, {a.batch}, at::kLong).to(device);
  at::Tensor first = model->parameters().front();
  if (a.bf16) {
    at::autocast::set_autocast_enabled(device.type(), true);
    at::autocast::set_autocast_dtype(device.type(), at::kBFloat16);
  }
  auto step = [&] {
    for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
    at::Tensor loss = at::cross_entropy_loss(model->forward(x).to(at::kFloat), y);
    loss.backward();
    first.grad().sum().item<double>();  // waits for the whole backward on the device's stream
  };
  for (int64_t i = 0; i < a.warmup; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  for (int64_t i = 0; i < a.iters; ++i) step();
  double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.trace_dir.empty()) {
    namespace prof = torch::autograd::profiler;
    const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    const std::set<torch::profiler::impl::ActivityType> cpu{torch::profiler::impl::ActivityType::CPU};
    prof::prepareProfiler(config, cpu);
    prof::enableProfiler(config, cpu);
    step();
    prof::disableProfiler()->save(a.trace_dir + "/" + arch + ".cpp.json");
  }
  if (a.bf16) at::autocast::set_autocast_enabled(device.type(), false);
  return {double(a.batch * a.iters) / s, double(a.batch * a.iters) / cpu};
}

Rate timm_images_per_second(const std::string& arch, const Args& a) {
  std::string cmd = "'" + a.python_path + "' '" WILDREID_SOURCE_DIR "/tools/bench_timm_step.py' --arch " + arch +
                    " --batch " + std::to_string(a.batch) + " --size " + std::to_string(a.size) + " --iters " +
                    std::to_string(a.iters) + " --warmup " + std::to_string(a.warmup) + " --threads " +
                    std::to_string(a.threads) + " --device " + a.device + (a.bf16 ? " --bf16" : "") +
                    (a.timm_channels_last ? " --channels-last" : "") +
                    (a.trace_dir.empty() ? "" : " --trace '" + a.trace_dir + "/" + arch + ".timm.json'");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {};
  char buf[256] = {0};
  std::string out;
  while (std::fgets(buf, sizeof(buf), p)) out += buf;
  int rc = ::pclose(p);
  if (rc != 0) {
    std::fprintf(stderr, "model_step: timm baseline failed (%s): %s\n", cmd.c_str(), out.c_str());
    return {};
  }
  Rate r;
  std::sscanf(out.c_str(), "%lf %lf", &r.wall, &r.cpu);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    if (!a.trace_dir.empty()) std::filesystem::create_directories(a.trace_dir);
    at::set_num_threads(a.threads);
    for (const auto& arch : a.archs) {
      if (!wildreid::models::registry().find(arch)) {
        std::printf("%s not-in-registry\n", arch.c_str());
        continue;
      }
      Rate ours = cpp_images_per_second(arch, a);
      Rate theirs;
      if (a.python) theirs = timm_images_per_second(arch, a);
      std::printf("%s batch=%lld size=%lld threads=%d device=%s dtype=%s memory=%s/%s block-cache=%s\n", arch.c_str(),
                  static_cast<long long>(a.batch), static_cast<long long>(a.size), a.threads, a.device.c_str(),
                  a.bf16 ? "bf16" : "fp32", a.channels_last ? "nhwc" : "nchw", a.timm_channels_last ? "nhwc" : "nchw",
                  a.block_cache && a.device == "cpu" ? "on" : "off");
      std::printf("  wall img/s:          cpp=%.3f", ours.wall);
      if (theirs.wall > 0) std::printf(" timm=%.3f ratio=%.3f", theirs.wall, ours.wall / theirs.wall);
      else if (a.python) std::printf(" timm=failed");
      std::printf("\n  img per CPU-second:  cpp=%.3f", ours.cpu);
      if (theirs.cpu > 0) std::printf(" timm=%.3f ratio=%.3f", theirs.cpu, ours.cpu / theirs.cpu);
      std::printf("\n");
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
