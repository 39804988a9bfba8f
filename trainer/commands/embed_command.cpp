// `trainer embed`: the models named on the command line -> identify::embed_shards (identify/embed.h
// documents what is written). This file only turns the user's model descriptions into
// EmbedModels: a training run directory (its best.safetensors and resolved config.yaml: arch,
// image size, and the eval transform its validation used), a checkpoint directory
// (model.safetensors + config.yaml), or a bare weights file with its architecture and transform.
// Runs in one process or under mpirun like `train` (each rank embeds a slice, rank 0 writes).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <sstream>

#include "cluster/cluster.h"
#include "data/transform_options.h"
#include "identify/embed.h"
#include "trainer/commands/commands.h"
#include "trainer/config_loader.h"

namespace wildreid::commands {
namespace {
namespace fs = std::filesystem;

struct EmbedArgs {
  identify::EmbedOptions options;
  std::vector<std::string> models;
  // One bare weights file.
  std::string name, arch, weights, arch_overrides, resize = "crop";
  int64_t img_size = 0;
  double crop_pct = data::TransformOptions{}.eval_crop_pct;
  std::vector<std::string> splits;
  std::string amp = "auto", backend = "auto";
  int threads = 0;
  double peer_timeout_s = 30;
};

// A run directory (best.safetensors) or a checkpoint directory (model.safetensors), each with the
// resolved config.yaml that `trainer train` wrote beside it.
identify::EmbedModel from_run_dir(const fs::path& dir, const std::string& name) {
  fs::path weights = dir / "best.safetensors";
  if (!fs::exists(weights)) weights = dir / "model.safetensors";
  if (!fs::exists(weights))
    throw std::runtime_error(dir.string() + ": neither best.safetensors (run directory) nor model.safetensors "
                             "(checkpoint directory) is there");
  if (!fs::exists(dir / "config.yaml")) throw std::runtime_error(dir.string() + ": config.yaml is missing");
  const trainer::TrainConfig config = trainer::load_config(dir / "config.yaml", {});
  identify::EmbedModel m;
  m.name = name.empty() ? fs::absolute(dir).lexically_normal().filename().string() : name;
  if (m.name.empty()) m.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  m.arch = config.model_arch;
  m.weights = weights;
  m.source = dir.string();
  m.img_size = config.model_img_size;
  return m;  // resize/crop_pct: the defaults, which are what validation used in training
}

// "[NAME=]PATH[,key=value...]": PATH is a run/checkpoint directory, or a weights file that needs
// arch=...; keys: arch, img-size, resize, crop-pct.
identify::EmbedModel parse_model(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream in(spec);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  if (parts.empty() || parts[0].empty()) throw std::invalid_argument("--model: empty");
  std::string name, path = parts[0];
  if (const auto eq = path.find('='); eq != std::string::npos) {
    name = path.substr(0, eq);
    path = path.substr(eq + 1);
  }
  identify::EmbedModel m;
  const bool dir = fs::is_directory(path);
  if (dir) {
    m = from_run_dir(path, name);
  } else {
    if (!fs::exists(path)) throw std::runtime_error("--model " + spec + ": '" + path + "' does not exist");
    m.name = name.empty() ? fs::path(path).stem().string() : name;
    m.weights = path;
    m.source = path;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--model " + spec + ": '" + parts[i] + "' is not key=value");
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    try {
      if (key == "arch") m.arch = value;
      else if (key == "img-size") m.img_size = std::stoll(value);
      else if (key == "resize") m.resize = identify::parse_resize_mode(value);
      else if (key == "crop-pct") m.crop_pct = std::stod(value);
      else throw std::invalid_argument("unknown key (arch, img-size, resize, crop-pct)");
    } catch (const std::exception& e) {
      throw std::invalid_argument("--model " + spec + ": " + key + ": " + e.what());
    }
  }
  if (m.arch.empty()) throw std::invalid_argument("--model " + spec + ": a weights file needs arch=NAME");
  return m;
}

void run_embed(EmbedArgs& args) {
  std::vector<identify::EmbedModel> models;
  for (const auto& spec : args.models) models.push_back(parse_model(spec));
  if (!args.weights.empty()) {
    if (args.arch.empty()) throw std::invalid_argument("--weights needs --arch");
    identify::EmbedModel m;
    m.name = args.name.empty() ? fs::path(args.weights).stem().string() : args.name;
    m.arch = args.arch;
    m.weights = args.weights;
    m.source = args.weights;
    m.arch_overrides = args.arch_overrides;
    m.img_size = args.img_size;
    m.resize = identify::parse_resize_mode(args.resize);
    m.crop_pct = args.crop_pct;
    models.push_back(m);
  }
  if (models.empty()) throw std::invalid_argument("give at least one --model, or --arch with --weights");
  for (const auto& s : args.splits) {
    std::stringstream in(s);
    for (std::string split; std::getline(in, split, ',');)
      if (!split.empty()) args.options.splits.push_back(split);
  }
  args.options.amp = identify::parse_embed_amp(args.amp);

  cluster::ClusterOptions cluster_options;
  cluster_options.backend = cluster::parse_backend(args.backend);
  cluster_options.peer_timeout = std::chrono::milliseconds(static_cast<int64_t>(args.peer_timeout_s * 1000));
  cluster_options.threads_per_rank = args.threads;
  auto cluster = cluster::Cluster::start(cluster_options);
  identify::EmbedReport report;
  try {
    report = identify::embed_shards(models, args.options, cluster->process_group());
  } catch (const std::exception& e) {
    const std::string what = e.what();
    const std::string message =
        what.rfind("rank ", 0) == 0 ? what : "rank " + std::to_string(cluster->rank()) + ": " + what;
    cluster->report_failure(message);
    throw std::runtime_error(message);
  }
  const int world = cluster->world_size();
  cluster->shutdown();
  if (cluster->rank() != 0) return;
  for (const auto& m : report.models) {
    if (m.skipped) {
      std::printf("embed: %s: already complete in %s, skipped\n", m.name.c_str(), args.options.out.c_str());
      continue;
    }
    std::printf("embed: %s: %zu rows, embedding %lld-d, %s, %.1f s, %.1f images/s on %d rank(s)\n", m.name.c_str(),
                report.rows, static_cast<long long>(m.dim),
                m.classes > 0 ? ("logits over " + std::to_string(m.classes) + " labels").c_str() : "no logits",
                m.seconds, static_cast<double>(report.rows) / m.seconds, world);
  }
  std::printf("embed: wrote %s\n", args.options.out.c_str());
}

}  // namespace

void add_embed(CLI::App& app) {
  auto args = std::make_shared<EmbedArgs>();
  CLI::App* cmd = app.add_subcommand(
      "embed",
      "Embed the records of a shard set with one or more models into an HDF5 embeddings file "
      "(docs/formats.md): per model the pooled pre-logits embedding (timm forward_head(pre_logits=True)), "
      "the classifier logits and label names when the weights carry a head trained by `trainer train`, and "
      "every row's image_id/identity/dataset/split/species/label. [mpirun -np N] trainer embed --shards S "
      "--model RUN_DIR --out E.h5. A model already complete in the file is not embedded again.");
  cmd->add_option("--shards", args->options.shards, "Shard set folder (manifest.json + shards)")->required();
  cmd->add_option("--out", args->options.out, "Embeddings file to create or add models to")->required();
  cmd->add_option("--model", args->models,
                  "Model to embed with (repeatable): [NAME=]PATH[,key=value...]. PATH = a `trainer train` run "
                  "directory (best.safetensors + config.yaml: arch, img_size, the validation transform), a checkpoint "
                  "directory (model.safetensors + config.yaml), or a weights file (.safetensors, pytorch_model.bin, "
                  ".pth) with arch=NAME. Keys: arch, img-size, resize (crop|squash), crop-pct. NAME (the group in "
                  "the file) defaults to the directory's name or the file's stem");
  cmd->add_option("--arch", args->arch, "With --weights: architecture (timm name, see `trainer models`)");
  cmd->add_option("--weights", args->weights,
                  "One bare weights file to embed with (.safetensors, pytorch_model.bin, .pth), with --arch");
  cmd->add_option("--name", args->name, "With --weights: the model's name in the file (default: the file's stem)");
  cmd->add_option("--img-size", args->img_size, "With --weights: input side; 0 = the architecture's default")
      ->capture_default_str();
  cmd->add_option("--resize", args->resize,
                  "With --weights: crop = timm eval (shorter side to img_size / crop_pct, centre crop); squash = "
                  "resize the whole image to img_size x img_size (MegaDescriptor)")
      ->check(CLI::IsMember({"crop", "squash"}))
      ->capture_default_str();
  cmd->add_option("--crop-pct", args->crop_pct, "With --weights and --resize crop: timm's crop_pct")
      ->capture_default_str();
  cmd->add_option("--arch-overrides", args->arch_overrides,
                  "With --weights: JSON object of timm create_model kwargs changing the architecture");
  cmd->add_option("--split", args->splits,
                  "Splits to embed, comma-separated or repeated (default: train, val, query, and test when present)");
  cmd->add_flag("--flip-tta", args->options.flip_tta,
                "Average each output with that of the horizontally flipped image (default: off)");
  cmd->add_option("--amp", args->amp, "auto (bf16 autocast on CUDA, fp32 on CPU) | off | bf16")
      ->check(CLI::IsMember({"auto", "off", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", args->options.batch_size, "Images per forward pass per rank")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--workers", args->options.decode_threads, "JPEG decode threads per rank")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Torch intra-op threads per rank (0 = cores / ranks on the node)")
      ->capture_default_str();
  cmd->add_flag("--replace", args->options.replace, "Embed models again even when complete in --out");
  cmd->add_flag("--quiet", args->options.quiet, "No progress on stderr");
  cmd->add_option("--backend", args->backend, "Collectives: auto (NCCL with CUDA, else MPI) | nccl | mpi | single")
      ->capture_default_str();
  cmd->add_option("--peer-timeout", args->peer_timeout_s,
                  "Seconds without a peer's heartbeat before this rank exits with code 76")
      ->capture_default_str();
  cmd->callback([args] { run_embed(*args); });
}

}  // namespace wildreid::commands
