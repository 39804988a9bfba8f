// `trainer batch SHARDS`: one batch through the real input pipeline (sampler, reader thread,
// decode pool, train or eval transforms), printed as shapes, per-channel statistics and labels,
// and optionally saved as a PNG contact sheet, so a user can look at what the model will see
// before spending cluster hours on a recipe.
#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "data/batch_loader.h"
#include "data/transform_options.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {
namespace {

struct BatchOptions {
  std::filesystem::path dir;
  std::string split = "train";
  int64_t size = 224;
  int64_t batch = 16;
  int threads = 2;
  uint64_t seed = 42;
  bool eval = false;
  std::filesystem::path png;
};

// Undo normalisation and tile the batch into one BGR image, 4 columns wide.
cv::Mat contact_sheet(const at::Tensor& images, const data::TransformOptions& t) {
  const int64_t n = images.size(0), s = images.size(2), cols = 4;
  const int64_t rows = (n + cols - 1) / cols;
  auto mean = at::tensor({t.mean[0], t.mean[1], t.mean[2]}).view({1, 3, 1, 1});
  auto std = at::tensor({t.std[0], t.std[1], t.std[2]}).view({1, 3, 1, 1});
  auto rgb = (images.to(at::kFloat) * std + mean).clamp(0, 1).mul(255).to(at::kByte);
  auto bgr = rgb.flip({1}).permute({0, 2, 3, 1}).contiguous();  // N,S,S,3
  cv::Mat sheet(static_cast<int>(rows * s), static_cast<int>(cols * s), CV_8UC3, cv::Scalar(0, 0, 0));
  for (int64_t i = 0; i < n; ++i) {
    cv::Mat tile(static_cast<int>(s), static_cast<int>(s), CV_8UC3, bgr[i].data_ptr<uint8_t>());
    tile.copyTo(sheet(cv::Rect(static_cast<int>((i % cols) * s), static_cast<int>((i / cols) * s),
                               static_cast<int>(s), static_cast<int>(s))));
  }
  return sheet;
}

void run_batch(const BatchOptions& o) {
  auto shards = data::ShardSet::open(o.dir);
  auto indices = shards->split_indices(o.split);
  if (indices.empty()) throw std::runtime_error("batch: split '" + o.split + "' is empty in " + o.dir.string());
  data::SamplerOptions sampler_options;
  sampler_options.seed = o.seed;
  data::TransformOptions transforms = data::full_train_recipe(o.size);
  transforms.train = !o.eval;
  data::LoaderOptions loader_options;
  loader_options.batch_size = o.batch;
  loader_options.decode_threads = o.threads;
  loader_options.seed = o.seed;
  data::BatchLoader loader(shards, data::DistributedSampler(std::move(indices), sampler_options),
                           transforms, loader_options);
  loader.start({});
  auto batch = loader.next();
  if (!batch) throw std::runtime_error("batch: no batch produced from split '" + o.split + "'");
  const auto& x = batch->images;
  std::printf("images %s %s  labels %s\n", c10::toString(x.scalar_type()),
              c10::str(x.sizes()).c_str(), c10::str(batch->labels.sizes()).c_str());
  for (int c = 0; c < 3; ++c) {
    auto ch = x.select(1, c).to(at::kFloat);
    std::printf("channel %d: min %.3f max %.3f mean %.3f std %.3f\n", c, ch.min().item<float>(),
                ch.max().item<float>(), ch.mean().item<float>(), ch.std().item<float>());
  }
  std::printf("labels:");
  for (int64_t i = 0; i < batch->labels.size(0); ++i) {
    const auto& info = shards->info(static_cast<size_t>(batch->indices[i].item<int64_t>()));
    std::printf(" %lld(%s/%s)", static_cast<long long>(batch->labels[i].item<int64_t>()),
                info.dataset.c_str(), info.identity.c_str());
  }
  std::printf("\n");
  if (!o.png.empty()) {
    if (!cv::imwrite(o.png.string(), contact_sheet(x, transforms)))
      throw std::runtime_error("batch: cannot write " + o.png.string());
    std::printf("contact sheet: %s\n", o.png.c_str());
  }
}

}  // namespace

void add_batch(CLI::App& app) {
  auto o = std::make_shared<BatchOptions>();
  auto* cmd = app.add_subcommand(
      "batch",
      "Load one batch through the training input pipeline (full train recipe: RandomResizedCrop, "
      "flip, ColorJitter, AutoAugment, RandomErasing; or eval resize + centre crop) and print its "
      "shape, per-channel statistics and labels; --png saves the images as a contact sheet.");
  cmd->add_option("DIR", o->dir, "Shard set folder (holding manifest.json)")->required();
  cmd->add_option("--split", o->split, "Split to sample from")->capture_default_str();
  cmd->add_option("--size", o->size, "Output side in pixels")->capture_default_str()->check(CLI::Range(16, 4096));
  cmd->add_option("--batch", o->batch, "Images in the batch")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--threads", o->threads, "Decode threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--seed", o->seed, "Sampler and augmentation seed")->capture_default_str();
  cmd->add_flag("--eval", o->eval, "Eval transforms (resize + centre crop) instead of the train recipe");
  cmd->add_option("--png", o->png, "Write the batch as a PNG contact sheet to this file");
  cmd->callback([o] { run_batch(*o); });
}

}  // namespace wildreid::commands
