// matching_networks: throughput of our LightGlue (pairs/s) and ALIKED (images/s) against kornia
// 0.9 in Python on the same weights, inputs, keypoint counts and core count, in the same run
// (GUIDE §6). tools/bench_kornia_matching.py builds the kornia model with random weights, writes
// weights and inputs, times kornia; this program loads both and times ours. One line per figure:
//   lightglue keypoints=256 pairs=16 threads=2 ...
//     wall pairs/s:  ours=<> kornia=<best of pair-by-pair and batched> ratio=<>
//     per CPU-s:     ours=<> kornia=<> ratio=<>
// Ours runs as the matching pipeline does: batches of --batch pairs (padded, masked) spread over
// --workers worker threads of one intra-op thread each (default: --threads workers on CPU, one on
// a GPU). --no-python skips kornia and uses random weights (the GPU check). LibTorch only.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench/bench_args.h"
#include "checkpoints/safetensors.h"
#include "matching/aliked.h"
#include "matching/lightglue.h"
#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"
#include "matching/worker_threads.h"

namespace {

using namespace wildreid::matching;

struct Args {
  std::string what = "lightglue";
  int64_t pairs = 16, keypoints = 256, batch = 8, iters = 2, warmup = 1;
  int threads = 2, workers = 0;
  bool adaptive = false, python = true;
  std::string features = "aliked", device = "cpu", variant = "aliked-n16", python_path;
  int64_t images = 4, height = 384, width = 512, max_keypoints = 256;
};

void usage() {
  std::printf(
      "matching_networks [options]\n"
      "  --what lightglue|aliked   network to time (default lightglue)\n"
      "  --threads N               cores on both sides: kornia intra-op threads, our default workers (2)\n"
      "  --workers N               our worker threads (default: --threads on CPU, 1 on GPU)\n"
      "  --iters N / --warmup N    timed / untimed rounds (default 2 / 1)\n"
      "  --device D                cpu or cuda (default cpu); kornia always runs on CPU\n"
      "  --no-python               no kornia baseline (random weights)\n"
      "  --python PATH             interpreter with kornia (default $WILDREID_PYTHON)\n"
      " lightglue:\n"
      "  --pairs N --keypoints K   pairs per round and keypoints per image (default 16, 256)\n"
      "  --batch N                 pairs per batch on our side (default 8)\n"
      "  --features aliked|sift    model type (default aliked); --adaptive: depth/width confidence on\n"
      " aliked:\n"
      "  --variant V --images N --height H --width W --max-keypoints K (default aliked-n16, 4, 384, 512, 256)\n");
}

Args parse(int argc, char** argv) {
  Args a;
  a.python_path = wildreid::bench::python_interpreter(WILDREID_PYTHON_DEFAULT);
  for (wildreid::bench::ArgWalker args(argc, argv); args.next();) {
    const std::string k = args.key();
    auto next = [&args] { return args.value(); };
    if (k == "--what") a.what = next();
    else if (k == "--pairs") a.pairs = std::stoll(next());
    else if (k == "--keypoints") a.keypoints = std::stoll(next());
    else if (k == "--batch") a.batch = std::stoll(next());
    else if (k == "--iters") a.iters = std::stoll(next());
    else if (k == "--warmup") a.warmup = std::stoll(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--workers") a.workers = std::stoi(next());
    else if (k == "--adaptive") a.adaptive = true;
    else if (k == "--features") a.features = next();
    else if (k == "--device") a.device = next();
    else if (k == "--variant") a.variant = next();
    else if (k == "--images") a.images = std::stoll(next());
    else if (k == "--height") a.height = std::stoll(next());
    else if (k == "--width") a.width = std::stoll(next());
    else if (k == "--max-keypoints") a.max_keypoints = std::stoll(next());
    else if (k == "--no-python") a.python = false;
    else if (k == "--python") a.python_path = next();
    else if (k == "--help" || k == "-h") {
      usage();
      std::exit(0);
    } else throw std::runtime_error("unknown option " + k + " (see --help)");
  }
  if (a.workers <= 0) a.workers = a.device == "cpu" ? a.threads : 1;
  return a;
}

struct Rate {
  double wall = 0, cpu = 0;
};

// kornia's figures by name, from the baseline's stdout.
std::map<std::string, Rate> run_kornia(const Args& a, const std::string& dir) {
  std::string cmd = "'" + a.python_path + "' '" WILDREID_SOURCE_DIR "/tools/bench_kornia_matching.py' " + a.what +
                    " --out '" + dir + "' --threads " + std::to_string(a.threads) + " --iters " +
                    std::to_string(a.iters) + " --warmup " + std::to_string(a.warmup);
  if (a.what == "lightglue") {
    cmd += " --pairs " + std::to_string(a.pairs) + " --keypoints " + std::to_string(a.keypoints) + " --features " +
           a.features + (a.adaptive ? " --adaptive" : "");
  } else {
    cmd += " --variant " + a.variant + " --images " + std::to_string(a.images) + " --height " +
           std::to_string(a.height) + " --width " + std::to_string(a.width) + " --max-keypoints " +
           std::to_string(a.max_keypoints);
  }
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start " + cmd);
  std::map<std::string, Rate> out;
  char name[64];
  Rate r;
  while (std::fscanf(p, "%63s %lf %lf", name, &r.wall, &r.cpu) == 3) out[name] = r;
  if (::pclose(p) != 0 || out.empty()) throw std::runtime_error("kornia baseline failed: " + cmd);
  return out;
}

template <typename Fn>
Rate time_rounds(const Args& a, double items, Fn&& round) {
  for (int64_t i = 0; i < a.warmup; ++i) round();
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  for (int64_t i = 0; i < a.iters; ++i) round();
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {items * a.iters / wall, items * a.iters / cpu};
}

void print(const char* unit, const Rate& ours, const Rate& kornia, bool have_kornia) {
  std::printf("  wall %s:  ours=%.3f", unit, ours.wall);
  if (have_kornia) std::printf(" kornia=%.3f ratio=%.3f", kornia.wall, ours.wall / kornia.wall);
  std::printf("\n  per CPU-s:    ours=%.3f", ours.cpu);
  if (have_kornia) std::printf(" kornia=%.3f ratio=%.3f", kornia.cpu, ours.cpu / kornia.cpu);
  std::printf("\n");
}

LocalFeatures features_of(const std::map<std::string, at::Tensor>& in, const std::string& side, int64_t i,
                          float w, float h, const at::Device& device) {
  LocalFeatures f;
  f.keypoints = in.at("kpts" + side)[i].to(device);
  f.descriptors = in.at("desc" + side)[i].to(device);
  f.scores = at::ones({f.keypoints.size(0)}, f.keypoints.options());
  if (in.count("scales" + side)) {
    f.scales = in.at("scales" + side)[i].to(device);
    f.oris = in.at("oris" + side)[i].to(device);
  }
  f.width = static_cast<int64_t>(w);
  f.height = static_cast<int64_t>(h);
  return f;
}

void bench_lightglue(const Args& a, const std::string& dir) {
  std::map<std::string, Rate> kornia;
  if (a.python) kornia = run_kornia(a, dir);
  LightGlueOptions o = lightglue_options_for(a.features);
  if (!a.adaptive) o.depth_confidence = o.width_confidence = -1;
  LightGlue model(o);
  std::map<std::string, at::Tensor> in;
  if (a.python) {
    load_lightglue_weights(*model, wildreid::checkpoints::read_weights_file(dir + "/lightglue.safetensors"), "kornia weights");
    in = wildreid::checkpoints::load_safetensors(dir + "/inputs.safetensors");
  } else {  // random inputs of the same shapes
    at::manual_seed(0);
    for (const char* s : {"0", "1"}) {
      in[std::string("kpts") + s] = at::rand({a.pairs, a.keypoints, 2}) * at::tensor({639.f, 479.f});
      in[std::string("desc") + s] = at::randn({a.pairs, a.keypoints, 128});
      in[std::string("scales") + s] = 1 + 10 * at::rand({a.pairs, a.keypoints});
      in[std::string("oris") + s] = at::rand({a.pairs, a.keypoints}) * 6 - 3;
    }
    in["size"] = at::tensor({640.f, 480.f});
  }
  const at::Device device(a.device);
  model->to(device);
  const float w = in.at("size")[0].item<float>(), h = in.at("size")[1].item<float>();
  std::vector<LocalFeatures> f0, f1;
  for (int64_t i = 0; i < a.pairs; ++i) {
    f0.push_back(features_of(in, "0", i, w, h, device));
    f1.push_back(features_of(in, "1", i, w, h, device));
  }
  const int64_t batches = (a.pairs + a.batch - 1) / a.batch;
  int64_t matched = 0;
  auto round = [&] {
    std::vector<int64_t> counts(batches, 0);
    run_on_workers(batches, a.workers, [&](size_t k) {
      std::vector<FeaturePair> work;
      for (int64_t i = k * a.batch; i < std::min(a.pairs, (int64_t(k) + 1) * a.batch); ++i)
        work.emplace_back(&f0[i], &f1[i]);
      for (const auto& r : model->match(work)) counts[k] += (r.matches0 > -1).sum().item<int64_t>();
    });
    matched = 0;
    for (auto c : counts) matched += c;
  };
  const Rate ours = time_rounds(a, double(a.pairs), round);
  Rate best;
  for (const auto& [name, r] : kornia)
    if (r.wall > best.wall) best = r;
  std::printf("lightglue features=%s keypoints=%lld pairs=%lld batch=%lld workers=%d threads=%d device=%s adaptive=%d "
              "(%lld matches per round)\n",
              a.features.c_str(), static_cast<long long>(a.keypoints), static_cast<long long>(a.pairs),
              static_cast<long long>(a.batch), a.workers, a.threads, a.device.c_str(), a.adaptive ? 1 : 0,
              static_cast<long long>(matched));
  for (const auto& [name, r] : kornia)
    std::printf("  kornia %-13s wall %.3f pairs/s, %.3f per CPU-s\n", name.c_str(), r.wall, r.cpu);
  print("pairs/s", ours, best, a.python);
}

void bench_aliked(const Args& a, const std::string& dir) {
  std::map<std::string, Rate> kornia;
  if (a.python) kornia = run_kornia(a, dir);
  AlikedOptions o;
  o.variant = a.variant;
  o.max_keypoints = a.max_keypoints;
  o.detection_threshold = 0;
  Aliked model(o);
  at::Tensor images;
  if (a.python) {
    load_aliked_weights(*model, wildreid::checkpoints::read_weights_file(dir + "/aliked.safetensors"), "kornia weights");
    images = wildreid::checkpoints::load_safetensors(dir + "/images.safetensors").at("images");
  } else {
    images = at::rand({a.images, 3, a.height, a.width});
  }
  const at::Device device(a.device);
  model->to(device);
  images = images.to(device);
  at::NoGradGuard no_grad;
  int64_t keypoints = 0;
  auto round_with = [&](int workers) {
    return [&, workers] {
      std::vector<int64_t> counts(a.images, 0);
      run_on_workers(a.images, workers, [&](size_t i) {
        at::NoGradGuard guard;
        counts[i] = model->extract(images.slice(0, i, i + 1)).size();
      });
      keypoints = 0;
      for (auto c : counts) keypoints += c;
    };
  };
  const Rate stream = time_rounds(a, double(a.images), round_with(1));
  const Rate ours = a.workers > 1 ? time_rounds(a, double(a.images), round_with(a.workers)) : stream;
  const Rate k = kornia.count("per-image") ? kornia["per-image"] : Rate{};
  std::printf("aliked variant=%s images=%lld size=%lldx%lld max_keypoints=%lld workers=%d threads=%d device=%s "
              "(%lld keypoints per round)\n",
              a.variant.c_str(), static_cast<long long>(a.images), static_cast<long long>(a.width),
              static_cast<long long>(a.height), static_cast<long long>(a.max_keypoints), a.workers, a.threads,
              a.device.c_str(), static_cast<long long>(keypoints));
  std::printf("  ours one stream (%d intra-op threads): wall %.3f img/s, %.3f per CPU-s\n", a.threads, stream.wall,
              stream.cpu);
  if (a.python) std::printf("  kornia per-image (%d threads):         wall %.3f img/s, %.3f per CPU-s\n", a.threads,
                            k.wall, k.cpu);
  print("img/s", ours, k, a.python);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    at::set_num_threads(a.threads);
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("wildreid_bench_matching_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    if (a.what == "lightglue") bench_lightglue(a, dir);
    else if (a.what == "aliked") bench_aliked(a, dir);
    else throw std::runtime_error("--what must be lightglue or aliked");
    for (const auto& e : std::filesystem::directory_iterator(dir)) ::unlink(e.path().c_str());
    ::rmdir(dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "matching_networks: %s\n", e.what());
    return 1;
  }
  return 0;
}
