// `trainer embed`'s core: runs one or more backbones over the records of a shard set and writes
// each model's pooled pre-logits embedding (timm forward_head(pre_logits=True)), its classifier
// logits when the weights carry a trained head with label names, and the rows' metadata into an
// embeddings file (embeddings_file.h, docs/formats.md).
//
// Images go through the data library's eval path (BatchLoader with TransformOptions::train =
// false: timm's resize + centre crop by crop_pct, or a square resize), so embedding sees exactly
// what validation saw during training. Under several ranks each rank embeds every world-th row
// (DistributedSampler without shuffle) and rank 0 gathers the slices back into row order and is
// the only writer. A model already complete in the file is skipped, so an interrupted run
// resumes at the first model it had not finished.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wildreid::cluster {
class ProcessGroup;
}

namespace wildreid::identify {

enum class ResizeMode { kCrop, kSquash };
// "crop" | "squash"; throws std::invalid_argument otherwise.
ResizeMode parse_resize_mode(const std::string& name);
std::string resize_mode_name(ResizeMode mode);

// One model to embed with: an architecture and a weights file (safetensors or torch.save).
struct EmbedModel {
  std::string name;                // the model's group in the embeddings file
  std::string arch;                // registry name (timm), e.g. "convnext_atto"
  std::filesystem::path weights;   // read by checkpoints::read_weights_file
  std::string source;              // what the user named (run directory or weights file), recorded
  std::string arch_overrides;      // JSON kwargs changing the architecture (models::ModelOptions)
  int64_t img_size = 0;            // 0 = the architecture's default input size
  ResizeMode resize = ResizeMode::kCrop;
  double crop_pct = 0.875;         // kCrop: resize the shorter side to img_size / crop_pct, centre crop
};

enum class EmbedAmp { kAuto, kOff, kBf16 };  // auto: bf16 autocast on CUDA, fp32 on CPU
EmbedAmp parse_embed_amp(const std::string& name);  // "auto" | "off" | "bf16"

struct EmbedOptions {
  std::filesystem::path shards;    // shard set folder (manifest.json + shards)
  std::filesystem::path out;       // embeddings file
  std::vector<std::string> splits; // empty: train, val, query, and test when present
  bool flip_tta = false;           // average with the horizontally flipped image's outputs
  EmbedAmp amp = EmbedAmp::kAuto;
  int64_t batch_size = 32;
  int decode_threads = 2;          // per rank
  bool replace = false;            // embed models again even when complete in the file
  bool quiet = false;              // no progress on stderr
};

struct EmbeddedModel {
  std::string name;
  bool skipped = false;            // already complete in the file
  int64_t dim = 0;                 // embedding width
  int64_t classes = 0;             // logits width (0: none written)
  double seconds = 0;              // wall time of decode + forward (+ gather) over all rows
};

struct EmbedReport {
  size_t rows = 0;
  std::vector<EmbeddedModel> models;
};

// Collective: every rank calls it with the same arguments, rank 0 reads and writes options.out.
// Throws naming the file, model or record at fault; a model is written only when complete.
EmbedReport embed_shards(const std::vector<EmbedModel>& models, const EmbedOptions& options,
                         cluster::ProcessGroup& group);

}  // namespace wildreid::identify
