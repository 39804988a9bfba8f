// bench_data_pipeline: images/s per core of the full train recipe (RandomResizedCrop + flip +
// rotation + ColorJitter + AutoAugment + RandomErasing + normalise, float32 NCHW) through our
// BatchLoader, and, in the same run on the same shards and thread count, through the
// torchvision/PIL DataLoader of tools/torchvision_pipeline.py; then the ratio. Per core is
// reported two ways: wall-clock throughput / threads, and images per CPU-second (user + system
// of every thread/process involved), which is less sensitive to other load on a shared machine.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "data/batch_loader.h"
#include "data/shard_reader.h"

using namespace wildreid::data;

namespace {

struct Figures {
  int64_t images = 0;
  double wall_s = 0, cpu_s = 0;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

Figures run_ours(const std::string& shard_dir, const std::string& split, int64_t size, int threads,
                 int64_t images, int64_t batch) {
  auto shards = ShardSet::open(shard_dir);
  auto indices = split.empty() ? std::vector<size_t>() : shards->split_indices(split);
  if (split.empty())
    for (size_t i = 0; i < shards->size(); ++i) indices.push_back(i);
  if (indices.empty()) throw std::runtime_error("split '" + split + "' is empty in " + shard_dir);
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.decode_threads = threads;
  lo.prefetch_batches = 2;
  lo.seed = 1;
  BatchLoader loader(shards, DistributedSampler(indices, {1, 0, 1, true, false}),
                     full_train_recipe(size), lo);
  Figures f;
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  for (int64_t epoch = 0; f.images < images; ++epoch) {
    loader.start({epoch, 0});
    while (f.images < images) {
      auto b = loader.next();
      if (!b) break;
      f.images += b->images.size(0);
    }
  }
  f.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  f.cpu_s = cpu_seconds() - cpu0;
  return f;
}

Figures run_torchvision(const std::string& python, const std::string& shard_dir,
                        const std::string& split, int64_t size, int threads, int64_t images,
                        int64_t batch, const std::string& api) {
  const std::string cmd = "'" + python + "' '" WILDREID_SOURCE_DIR "/tools/torchvision_pipeline.py' --shards '" +
                          shard_dir + "' --split '" + split + "' --size " + std::to_string(size) +
                          " --threads " + std::to_string(threads) + " --images " +
                          std::to_string(images) + " --batch-size " + std::to_string(batch) +
                          " --api " + api;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  Figures f;
  bool found = false;
  char line[512];
  while (std::fgets(line, sizeof line, pipe)) {
    long long n = 0;
    if (std::sscanf(line, "RESULT images=%lld wall_s=%lf cpu_s=%lf", &n, &f.wall_s, &f.cpu_s) == 3) {
      f.images = n;
      found = true;
    }
  }
  const int rc = pclose(pipe);
  if (rc != 0 || !found) throw std::runtime_error("baseline failed (exit " + std::to_string(rc) + "): " + cmd);
  return f;
}

void print(const char* name, const Figures& f, int threads) {
  std::printf("%-16s images/s/core (wall): %8.1f   images per CPU-second: %8.1f   (%lld images, %.2f s wall, %.2f s CPU)\n",
              name, f.images / f.wall_s / threads, f.images / f.cpu_s,
              static_cast<long long>(f.images), f.wall_s, f.cpu_s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Input pipeline benchmark: wildreid BatchLoader vs torchvision/PIL DataLoader, "
               "full train recipe, images/s per core and ratio"};
  std::string shard_dir, split = "train", baseline = "v1", python;
  if (const char* env = std::getenv("WILDREID_PYTHON")) python = env;
  if (python.empty()) python = WILDREID_DEFAULT_PYTHON;
  int64_t size = 384, images = 300, batch = 32;
  int threads = 1, repeats = 1;
  app.add_option("--shards", shard_dir, "Shard set directory (trainer pack output)")->required();
  app.add_option("--split", split, "Split to read; empty = every record")->capture_default_str();
  app.add_option("--size", size, "Output side in pixels")->capture_default_str();
  app.add_option("--threads", threads, "Decode threads (ours) = DataLoader workers (baseline)")->capture_default_str();
  app.add_option("--images", images, "Images per pipeline (epochs repeat as needed)")->capture_default_str();
  app.add_option("--batch-size", batch, "Batch size")->capture_default_str();
  app.add_option("--baseline", baseline, "torchvision API for the baseline: v1, v2, both or none")
      ->check(CLI::IsMember({"v1", "v2", "both", "none"}))->capture_default_str();
  app.add_option("--repeats", repeats, "Runs of each pipeline, interleaved; the best (by images per CPU-second) is reported")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--python", python, "Python with torch/torchvision/h5py (default: $WILDREID_PYTHON)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::printf("recipe: RandomResizedCrop %lld + flip 0.5 + rotation 15 + ColorJitter 0.4/0.4/0.4/0.1 + "
                "AutoAugment ImageNet + normalise + RandomErasing 0.5, float32 NCHW; threads %d\n",
                static_cast<long long>(size), threads);
    // Best of `repeats` runs of each, interleaved, so a burst of other load on a shared
    // machine does not decide the ratio.
    auto best = [](const Figures& a, const Figures& b) {
      return b.images / b.cpu_s > a.images / a.cpu_s ? b : a;
    };
    Figures ours;
    std::map<std::string, Figures> tvs;
    for (int r = 0; r < repeats; ++r) {
      const Figures o = run_ours(shard_dir, split, size, threads, images, batch);
      ours = r == 0 ? o : best(ours, o);
      for (const std::string api : {"v1", "v2"}) {
        if (baseline != api && baseline != "both") continue;
        const Figures t = run_torchvision(python, shard_dir, split, size, threads, images, batch, api);
        tvs[api] = r == 0 ? t : best(tvs[api], t);
      }
    }
    print("wildreid", ours, threads);
    for (const auto& [api, tv] : tvs) {
      const std::string name = "torchvision " + api;
      print(name.c_str(), tv, threads);
      std::printf("ratio wildreid / torchvision %s: per core (wall) %.2fx   per CPU-second %.2fx\n",
                  api.c_str(), (ours.images / ours.wall_s) / (tv.images / tv.wall_s),
                  (ours.images / ours.cpu_s) / (tv.images / tv.cpu_s));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data_pipeline: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
