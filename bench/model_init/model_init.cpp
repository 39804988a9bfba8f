// model_init: start-up cost of a model, ours vs Python timm, in the same run. One line per
// architecture:
//   <arch> threads=N cpp_create=<s> cpp_init=<s> cpp=<s> timm=<s> ratio=<cpp/timm> cpp_init_cpu=<s>
// cpp_create builds the modules with uninitialised parameters, cpp_init runs Backbone::init_weights
// (timm's initialisation for the family); timm is `timm.create_model(arch)` (which initialises).
// cpp_init_cpu is the process CPU time of cpp_init (all threads): cpu / wall near the thread count
// means the initialisation uses them, near 1 that it runs on one core.
// Both sides use the same torch thread count. Needs LibTorch only; --no-python skips timm.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "models/registry.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Seconds timm.create_model(arch) takes in a fresh Python (import time excluded); -1 on failure.
double timm_seconds(const std::string& python, const std::string& arch, int threads) {
  std::ostringstream cmd;
  cmd << python << " -c \"import time, torch, timm; torch.set_num_threads(" << threads
      << "); t = time.time(); timm.create_model('" << arch << "'); print(time.time() - t)\" 2>/dev/null";
  FILE* pipe = popen(cmd.str().c_str(), "r");
  if (!pipe) return -1;
  double value = -1;
  if (std::fscanf(pipe, "%lf", &value) != 1) value = -1;
  pclose(pipe);
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> archs{"maxvit_xlarge_tf_384", "convnext_xlarge", "swin_large_patch4_window12_384",
                                 "vit_large_patch16_384"};
  int threads = at::get_num_threads();
  bool python = true;
  std::string python_path = std::getenv("WILDREID_PYTHON") ? std::getenv("WILDREID_PYTHON") : WILDREID_PYTHON_DEFAULT;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--archs" && i + 1 < argc) {
      archs.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) archs.push_back(item);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--no-python") {
      python = false;
    } else {
      std::printf("model_init [--archs A,B,...] [--threads N] [--no-python]\n"
                  "  seconds to create + initialise each architecture, ours vs timm.create_model\n");
      return a == "--help" ? 0 : 2;
    }
  }
  at::set_num_threads(threads);
  for (const auto& arch : archs) {
    wildreid::models::ModelOptions options;
    options.init_weights = false;
    auto start = std::chrono::steady_clock::now();
    auto model = wildreid::models::create_model(arch, options);
    const double create = seconds_since(start);
    start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    model->init_weights();
    const double init = seconds_since(start);
    const double init_cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    model.reset();
    const double ours = create + init;
    const double timm = python ? timm_seconds(python_path, arch, threads) : -1;
    std::printf("%s threads=%d cpp_create=%.2f cpp_init=%.2f cpp=%.2f timm=%.2f ratio=%.2f cpp_init_cpu=%.2f\n",
                arch.c_str(), threads, create, init, ours, timm, timm > 0 ? ours / timm : 0.0, init_cpu);
    std::fflush(stdout);
  }
  return 0;
}
