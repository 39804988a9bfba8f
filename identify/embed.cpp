// See embed.h. Per model: every rank builds the model and reads the weights itself (no broadcast
// of a 1.4 GB state dict), embeds its interleaved share of the rows into a preallocated
// [share, D] tensor, then one allgather brings every share to every rank and rank 0 puts each
// row back at its position (rank r's i-th row is row r + i * world; positions past the last row
// are the sampler's wrap-around padding and are dropped). Rank 0 decides which models still need
// embedding and broadcasts the decision, so all ranks run the same collectives.
#include "identify/embed.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "checkpoints/label_names.h"
#include "checkpoints/weights_file.h"
#include "cluster/process_group.h"
#include "data/batch_loader.h"
#include "data/distributed_sampler.h"
#include "data/progress.h"
#include "data/shard_reader.h"
#include "identify/embeddings_file.h"
#include "models/cpu_block_cache.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "trainer/amp.h"

namespace wildreid::identify {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> splits_to_embed(const data::ShardSet& shards, const std::vector<std::string>& asked,
                                         const fs::path& dir) {
  if (!asked.empty()) {
    for (const auto& split : asked)
      if (shards.split_indices(split).empty())
        throw std::runtime_error(dir.string() + ": split '" + split + "' is empty or absent");
    return asked;
  }
  std::vector<std::string> splits;
  for (const char* split : {"train", "val", "query", "test"})
    if (!shards.split_indices(split).empty()) splits.push_back(split);
  return splits;
}

// The selected splits' records in record order.
std::vector<size_t> rows_of(const data::ShardSet& shards, const std::vector<std::string>& splits) {
  std::vector<bool> selected(shards.size(), false);
  for (const auto& split : splits)
    for (size_t i : shards.split_indices(split)) selected[i] = true;
  std::vector<size_t> rows;
  for (size_t i = 0; i < selected.size(); ++i)
    if (selected[i]) rows.push_back(i);
  return rows;
}

EmbeddingRows row_metadata(const data::ShardSet& shards, const std::vector<size_t>& rows) {
  EmbeddingRows out;
  for (size_t i : rows) {
    const auto& r = shards.info(i);
    out.push_back(r.image_id, r.identity, r.dataset, r.split, r.species, r.label);
  }
  return out;
}

data::TransformOptions eval_transforms(const EmbedModel& m, const models::ModelSpec& spec, int64_t size) {
  data::TransformOptions t;
  t.train = false;
  t.size = size;
  t.eval_crop_pct = m.crop_pct;
  t.eval_squash = m.resize == ResizeMode::kSquash;
  for (int c = 0; c < 3 && c < static_cast<int>(spec.mean.size()); ++c) {
    t.mean[c] = static_cast<float>(spec.mean[c]);
    t.std[c] = static_cast<float>(spec.std[c]);
  }
  return t;
}

struct LoadedModel {
  std::shared_ptr<models::Backbone> backbone;
  std::vector<std::string> label_names;  // "dataset/identity" per class; empty: no logits written
  int64_t img_size = 0;
};

LoadedModel load_model(const EmbedModel& m, const c10::Device& device) {
  const std::string where = "model '" + m.name + "' (" + m.weights.string() + ")";
  auto tensors = checkpoints::read_weights_file(m.weights);
  const auto names = checkpoints::read_label_names(checkpoints::read_weights_metadata(m.weights), m.weights.string());
  models::ModelOptions options;
  options.img_size = m.img_size;
  options.arch_overrides = m.arch_overrides;
  options.init_weights = false;
  options.num_classes = 1;
  options.num_classes = models::classes_in_weights(*models::create_model(m.arch, options), tensors);
  if (!names.empty() && static_cast<size_t>(options.num_classes) != names.size())
    throw std::runtime_error(where + ": the classifier has " + std::to_string(options.num_classes) +
                             " classes but the label names " + std::to_string(names.size()));
  LoadedModel loaded;
  loaded.backbone = models::create_model(m.arch, options);
  models::load_backbone_weights(*loaded.backbone, std::move(tensors), {}, "'" + m.weights.string() + "'");
  loaded.backbone->to(device);
  loaded.backbone->eval();
  for (const auto& n : names) loaded.label_names.push_back(n.dataset + "/" + n.identity);
  loaded.img_size = m.img_size > 0 ? m.img_size : loaded.backbone->spec().input_size;
  return loaded;
}

struct Outputs {
  at::Tensor embedding, logits;  // float32 CPU
};

Outputs forward(models::Backbone& model, const at::Tensor& images, bool with_logits, bool flip_tta,
                trainer::AmpMode amp) {
  c10::InferenceMode inference;  // no autograd records, no version counters: outputs are only stored
  trainer::AutocastScope autocast(amp, images.device().type());
  auto run = [&](const at::Tensor& x) {
    Outputs o;
    o.embedding = model.forward_embedding(model.forward_features(x)).to(at::kFloat);
    if (with_logits) o.logits = model.forward_classifier(o.embedding).to(at::kFloat);
    return o;
  };
  Outputs out = run(images);
  if (flip_tta) {
    const Outputs flipped = run(images.flip({3}));
    out.embedding = (out.embedding + flipped.embedding) * 0.5;
    if (with_logits) out.logits = (out.logits + flipped.logits) * 0.5;
  }
  out.embedding = out.embedding.cpu();
  if (with_logits) out.logits = out.logits.cpu();
  return out;
}

// Every rank's [share, W] slice -> rank 0's [rows, W] in row order (empty elsewhere).
at::Tensor gather_rows(const at::Tensor& share, size_t rows, cluster::ProcessGroup& group) {
  const auto slices = group.allgather(share.to(group.device()));
  if (group.rank() != 0) return {};
  const int64_t world = group.size();
  at::Tensor out = at::empty({static_cast<int64_t>(rows), share.size(1)}, share.options());
  for (int64_t r = 0; r < world; ++r) {
    const at::Tensor slice = slices[static_cast<size_t>(r)].cpu();
    for (int64_t i = 0; i < slice.size(0); ++i) {
      const int64_t position = r + i * world;
      if (position < static_cast<int64_t>(rows)) out[position].copy_(slice[i]);
    }
  }
  return out;
}

EmbeddedModel embed_model(const EmbedModel& m, const EmbedOptions& o, const std::shared_ptr<data::ShardSet>& shards,
                          const std::vector<size_t>& rows, cluster::ProcessGroup& group,
                          EmbeddingsWriter* writer) {
  const auto start = Clock::now();
  const c10::Device device = group.device();
  LoadedModel loaded = load_model(m, device);
  const bool with_logits = !loaded.label_names.empty();
  const trainer::AmpMode amp = o.amp == EmbedAmp::kBf16 || (o.amp == EmbedAmp::kAuto && device.is_cuda())
                                   ? trainer::AmpMode::kBf16
                                   : trainer::AmpMode::kOff;

  data::SamplerOptions sampler_options;
  sampler_options.rank = group.rank();
  sampler_options.world_size = group.size();
  sampler_options.shuffle = false;
  data::DistributedSampler sampler(rows, sampler_options);
  const int64_t share = static_cast<int64_t>(sampler.samples_per_rank());
  data::LoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.decode_threads = std::max(1, o.decode_threads);
  data::BatchLoader loader(shards, sampler, eval_transforms(m, loaded.backbone->spec(), loaded.img_size),
                           loader_options);

  data::Progress progress("embed " + m.name, rows.size(), o.quiet || group.rank() != 0);
  at::Tensor embedding, logits;
  int64_t filled = 0;
  size_t shown = 0;  // rows counted by the progress line (every rank's batches are alike)
  loader.start({0, 0});
  while (auto batch = loader.next()) {
    const at::Tensor images = batch->images.to(device, /*non_blocking=*/true);
    const Outputs out = forward(*loaded.backbone, images, with_logits, o.flip_tta, amp);
    if (!embedding.defined()) {
      embedding = at::empty({share, out.embedding.size(1)}, at::kFloat);
      if (with_logits) logits = at::empty({share, out.logits.size(1)}, at::kFloat);
    }
    const int64_t n = out.embedding.size(0);
    embedding.narrow(0, filled, n).copy_(out.embedding);
    if (with_logits) logits.narrow(0, filled, n).copy_(out.logits);
    filled += n;
    const size_t step = std::min(static_cast<size_t>(n * group.size()), rows.size() - shown);
    progress.advance(step);
    shown += step;
  }
  if (filled != share)
    throw std::runtime_error("rank " + std::to_string(group.rank()) + ": model '" + m.name + "' embedded " +
                             std::to_string(filled) + " of its " + std::to_string(share) + " rows");
  progress.finish();
  const at::Tensor all_embeddings = gather_rows(embedding, rows.size(), group);
  const at::Tensor all_logits = with_logits ? gather_rows(logits, rows.size(), group) : at::Tensor();

  EmbeddedModel report;
  report.name = m.name;
  report.dim = embedding.size(1);
  report.classes = with_logits ? logits.size(1) : 0;
  if (writer) {
    ModelAttributes attrs;
    attrs.arch = m.arch;
    attrs.weights = m.source.empty() ? m.weights.string() : m.source;
    attrs.img_size = loaded.img_size;
    attrs.resize = resize_mode_name(m.resize);
    attrs.crop_pct = m.resize == ResizeMode::kCrop ? m.crop_pct : 1.0;
    attrs.flip_tta = o.flip_tta;
    writer->add_model(m.name, attrs, all_embeddings, all_logits, loaded.label_names, /*replace=*/true);
  }
  group.barrier();
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "crop") return ResizeMode::kCrop;
  if (name == "squash") return ResizeMode::kSquash;
  throw std::invalid_argument("resize mode '" + name + "' is neither 'crop' nor 'squash'");
}

std::string resize_mode_name(ResizeMode mode) { return mode == ResizeMode::kCrop ? "crop" : "squash"; }

EmbedAmp parse_embed_amp(const std::string& name) {
  if (name == "auto") return EmbedAmp::kAuto;
  if (name == "off") return EmbedAmp::kOff;
  if (name == "bf16") return EmbedAmp::kBf16;
  throw std::invalid_argument("amp '" + name + "' is not one of auto, off, bf16");
}

EmbedReport embed_shards(const std::vector<EmbedModel>& models, const EmbedOptions& o, cluster::ProcessGroup& group) {
  if (models.empty()) throw std::invalid_argument("embed: no model given");
  models::CpuBlockCache block_cache;  // batches reuse the blocks of the batch before
  for (size_t i = 0; i < models.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (models[i].name == models[j].name)
        throw std::invalid_argument("embed: two models are named '" + models[i].name + "'; name them (NAME=...)");
  auto shards = data::ShardSet::open(o.shards);
  const auto splits = splits_to_embed(*shards, o.splits, o.shards);
  const auto rows = rows_of(*shards, splits);
  if (rows.empty()) throw std::runtime_error(o.shards.string() + ": no records in the selected splits");

  // Rank 0 owns the file: it creates it (rows only) or checks an existing one holds these rows,
  // and says which models are still to do.
  std::unique_ptr<EmbeddingsWriter> writer;
  at::Tensor todo = at::zeros({static_cast<int64_t>(models.size())}, at::kLong);
  if (group.rank() == 0) {
    writer = std::make_unique<EmbeddingsWriter>(o.out, row_metadata(*shards, rows), o.shards.string());
    for (size_t i = 0; i < models.size(); ++i)
      todo[static_cast<int64_t>(i)] = (o.replace || !writer->has_complete_model(models[i].name)) ? 1 : 0;
  }
  todo = todo.to(group.device());
  group.broadcast(todo, 0);
  todo = todo.cpu();

  EmbedReport report;
  report.rows = rows.size();
  for (size_t i = 0; i < models.size(); ++i) {
    if (todo[static_cast<int64_t>(i)].item<int64_t>() == 0) {
      if (group.rank() == 0 && !o.quiet)
        std::fprintf(stderr, "embed: model '%s' is complete in %s; skipped\n", models[i].name.c_str(),
                     o.out.c_str());
      report.models.push_back({models[i].name, true});
      continue;
    }
    report.models.push_back(embed_model(models[i], o, shards, rows, group, writer.get()));
  }
  return report;
}

}  // namespace wildreid::identify
