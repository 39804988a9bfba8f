// The embeddings file (docs/formats.md): what `trainer embed` writes and `trainer identify`
// reads. One HDF5 file per shard set: the rows (image_id, identity, dataset, split, species,
// label of every embedded record) once, then one group per model with its pre-logits embedding,
// optionally its classifier logits and the label names that map logits back to identities.
//
// A model counts only once its group carries `complete = 1`, set after its datasets are written;
// every update is made on a copy of the file that is renamed over it, so an interrupted embed
// leaves the previous file intact and never a group that looks complete but is not. Plain h5py
// reads the file: fixed-length NUL-padded strings, 1-D/2-D numeric datasets, scalar attributes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

namespace wildreid::identify {

inline constexpr const char* kEmbeddingsFormat = "wildreid-embeddings";
inline constexpr int64_t kEmbeddingsSchemaVersion = 1;

// One row per embedded record, in the shard set's record order.
struct EmbeddingRows {
  std::vector<std::string> image_id, identity, dataset, split, species;
  std::vector<int64_t> label;  // shard label, -1 when none

  size_t size() const { return image_id.size(); }
  void push_back(const std::string& image_id, const std::string& identity, const std::string& dataset,
                 const std::string& split, const std::string& species, int64_t label);
};

// How a model's embedding was produced (the group's attributes).
struct ModelAttributes {
  std::string arch;            // timm architecture name
  std::string weights;         // weights file or run directory the model came from
  int64_t img_size = 0;        // input side in pixels
  std::string resize = "crop"; // "crop" (resize + centre crop by crop_pct) | "squash" (square resize)
  double crop_pct = 1.0;
  bool flip_tta = false;       // embedding averaged with the horizontally flipped image's
};

struct ModelEmbeddings {
  std::string name;
  ModelAttributes attrs;
  at::Tensor embedding;                  // float32 [N, D], not normalised
  at::Tensor logits;                     // float32 [N, C], undefined when the model has no trained head
  std::vector<std::string> label_names;  // C entries "dataset/identity" (with logits only)
};

// Adds models to an embeddings file. The rows are given once; the file is created on first use.
class EmbeddingsWriter {
 public:
  // A missing `path` is created (under a temporary name, then renamed) holding `rows`, the
  // `shards` attribute and no model. An existing file must hold the same rows (image_id and split
  // of every row, in order); otherwise this throws naming the file and the first differing row.
  EmbeddingsWriter(std::filesystem::path path, EmbeddingRows rows, std::string shards);

  const std::filesystem::path& path() const { return path_; }
  const EmbeddingRows& rows() const { return rows_; }
  std::vector<std::string> complete_models() const;
  bool has_complete_model(const std::string& name) const;

  // Writes /models/<name> and sets complete = 1 last. `embedding` is [N, D] (any float dtype or
  // device; stored as float32); `logits`, when defined, is [N, C] with label_names.size() == C.
  // An incomplete group of that name is replaced; a complete one only when `replace` is true.
  void add_model(const std::string& name, const ModelAttributes& attrs, const at::Tensor& embedding,
                 const at::Tensor& logits = {}, const std::vector<std::string>& label_names = {},
                 bool replace = false);

 private:
  std::filesystem::path path_;
  EmbeddingRows rows_;
};

struct Embeddings {
  std::filesystem::path path;
  std::string shards;
  EmbeddingRows rows;
  std::vector<ModelEmbeddings> models;  // in the order asked for (or by name)

  // Throws naming the file, the model and the models present when `name` is not loaded.
  const ModelEmbeddings& model(const std::string& name) const;
  std::vector<std::string> model_names() const;
};

struct ModelListing {
  std::string name;
  bool complete = false;
};

// The models of a file with their complete flag, by name.
std::vector<ModelListing> list_embedding_models(const std::filesystem::path& path);

// Reads the rows and the named models (every complete model when `names` is empty). A named
// model that is absent or incomplete, rows of unequal length, or a tensor whose row count differs
// from the rows' is an error naming the file, the model and the dataset.
Embeddings read_embeddings(const std::filesystem::path& path, const std::vector<std::string>& names = {});

}  // namespace wildreid::identify
