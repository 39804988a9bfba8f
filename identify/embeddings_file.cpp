// Layout (docs/formats.md): root attrs format/schema_version/shards; /rows/<column>; one group
// /models/<name> per model. Writes go through the data/ HDF5 helpers on a temporary copy that is
// renamed over the file, so readers only ever see a whole previous or a whole new file.
#include "identify/embeddings_file.h"

#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

#include "data/hdf5_handle.h"
#include "checkpoints/atomic_file.h"

namespace wildreid::identify {
namespace fs = std::filesystem;
namespace h5 = data::hdf5;

namespace {

constexpr const char* kRowsGroup = "rows";
constexpr const char* kModelsGroup = "models";
constexpr const char* kCompleteAttribute = "complete";

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what);
}

void check_model_name(const fs::path& path, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    fail(path, "model name '" + name + "' is not usable as an HDF5 group name (empty or contains '/')");
}

void write_rows(hid_t file, const EmbeddingRows& rows, const std::string& where) {
  auto group = h5::create_group(file, kRowsGroup, where);
  h5::write_strings(group.get(), "image_id", rows.image_id, where);
  h5::write_strings(group.get(), "identity", rows.identity, where);
  h5::write_strings(group.get(), "dataset", rows.dataset, where);
  h5::write_strings(group.get(), "split", rows.split, where);
  h5::write_strings(group.get(), "species", rows.species, where);
  h5::write_i64(group.get(), "label", rows.label, where);
}

EmbeddingRows read_rows(hid_t file, const std::string& where) {
  auto group = h5::open_group(file, kRowsGroup, where);
  EmbeddingRows rows;
  rows.image_id = h5::read_strings(group.get(), "image_id", where);
  rows.identity = h5::read_strings(group.get(), "identity", where);
  rows.dataset = h5::read_strings(group.get(), "dataset", where);
  rows.split = h5::read_strings(group.get(), "split", where);
  rows.species = h5::read_strings(group.get(), "species", where);
  rows.label = h5::read_i64(group.get(), "label", where);
  const size_t n = rows.image_id.size();
  const auto check = [&](size_t got, const char* column) {
    if (got != n)
      fail(where, std::string("/rows/") + column + " has " + std::to_string(got) + " rows, /rows/image_id has " +
                      std::to_string(n));
  };
  check(rows.identity.size(), "identity");
  check(rows.dataset.size(), "dataset");
  check(rows.split.size(), "split");
  check(rows.species.size(), "species");
  check(rows.label.size(), "label");
  return rows;
}

void check_header(hid_t file, const std::string& where) {
  if (!h5::has_attribute(file, "format") || h5::read_attribute_string(file, "format", where) != kEmbeddingsFormat)
    fail(where, std::string("not an embeddings file (root attribute format != '") + kEmbeddingsFormat + "')");
  const int64_t version = h5::read_attribute_i64(file, "schema_version", where);
  if (version != kEmbeddingsSchemaVersion)
    fail(where, "embeddings schema_version " + std::to_string(version) + ", this build reads " +
                    std::to_string(kEmbeddingsSchemaVersion));
}

bool group_complete(hid_t models, const std::string& name, const std::string& where) {
  auto group = h5::open_group(models, name.c_str(), where);
  return h5::has_attribute(group.get(), kCompleteAttribute) &&
         h5::read_attribute_i64(group.get(), kCompleteAttribute, where) == 1;
}

at::Tensor as_cpu_matrix(const at::Tensor& t, const fs::path& path, const std::string& what, size_t rows) {
  if (t.dim() != 2) fail(path, what + " must be 2-D [rows, features], got " + std::to_string(t.dim()) + "-D");
  if (static_cast<size_t>(t.size(0)) != rows)
    fail(path, what + " has " + std::to_string(t.size(0)) + " rows, the file has " + std::to_string(rows));
  return t.detach().to(at::kCPU, at::kFloat).contiguous();
}

void write_model(hid_t file, const std::string& name, const ModelAttributes& attrs, const at::Tensor& embedding,
                 const at::Tensor& logits, const std::vector<std::string>& label_names, const std::string& where) {
  auto models = h5::has_link(file, kModelsGroup) ? h5::open_group(file, kModelsGroup, where)
                                                 : h5::create_group(file, kModelsGroup, where);
  if (h5::has_link(models.get(), name.c_str())) h5::delete_link(models.get(), name.c_str(), where);
  auto group = h5::create_group(models.get(), name.c_str(), where);
  h5::write_f32_matrix(group.get(), "embedding", embedding.data_ptr<float>(), embedding.size(0), embedding.size(1),
                       where);
  if (logits.defined()) {
    h5::write_f32_matrix(group.get(), "logits", logits.data_ptr<float>(), logits.size(0), logits.size(1), where);
    h5::write_strings(group.get(), "label_names", label_names, where);
  }
  h5::write_attribute_string(group.get(), "arch", attrs.arch, where);
  h5::write_attribute_string(group.get(), "weights", attrs.weights, where);
  h5::write_attribute_i64(group.get(), "img_size", attrs.img_size, where);
  h5::write_attribute_string(group.get(), "resize", attrs.resize, where);
  h5::write_attribute_double(group.get(), "crop_pct", attrs.crop_pct, where);
  h5::write_attribute_i64(group.get(), "flip_tta", attrs.flip_tta ? 1 : 0, where);
  h5::write_attribute_i64(group.get(), kCompleteAttribute, 1, where);  // last: the group is whole
}

at::Tensor read_matrix(hid_t group, const char* dataset, size_t rows, const std::string& where,
                       const std::string& model) {
  const auto shape = h5::matrix_shape(group, dataset, where);
  if (shape[0] != rows)
    fail(where, "model '" + model + "': " + dataset + " has " + std::to_string(shape[0]) + " rows, /rows has " +
                    std::to_string(rows));
  auto out = at::empty({static_cast<int64_t>(shape[0]), static_cast<int64_t>(shape[1])}, at::kFloat);
  h5::read_f32_matrix(group, dataset, out.data_ptr<float>(), where);
  return out;
}

ModelEmbeddings read_model(hid_t models, const std::string& name, size_t rows, const std::string& where) {
  auto group = h5::open_group(models, name.c_str(), where);
  const std::string in_model = where + ": model '" + name + "'";
  ModelEmbeddings m;
  m.name = name;
  m.attrs.arch = h5::read_attribute_string(group.get(), "arch", in_model);
  m.attrs.weights = h5::read_attribute_string(group.get(), "weights", in_model);
  m.attrs.img_size = h5::read_attribute_i64(group.get(), "img_size", in_model);
  m.attrs.resize = h5::read_attribute_string(group.get(), "resize", in_model);
  m.attrs.crop_pct = h5::read_attribute_double(group.get(), "crop_pct", in_model);
  m.attrs.flip_tta = h5::read_attribute_i64(group.get(), "flip_tta", in_model) != 0;
  m.embedding = read_matrix(group.get(), "embedding", rows, where, name);
  if (h5::has_link(group.get(), "logits")) {
    m.logits = read_matrix(group.get(), "logits", rows, where, name);
    if (!h5::has_link(group.get(), "label_names"))
      fail(where, "model '" + name + "' has logits but no label_names");
    m.label_names = h5::read_strings(group.get(), "label_names", in_model);
    if (static_cast<int64_t>(m.label_names.size()) != m.logits.size(1))
      fail(where, "model '" + name + "': label_names has " + std::to_string(m.label_names.size()) +
                      " entries, logits has " + std::to_string(m.logits.size(1)) + " columns");
  }
  return m;
}

}  // namespace

void EmbeddingRows::push_back(const std::string& id, const std::string& ident, const std::string& ds,
                              const std::string& sp, const std::string& species_name, int64_t lab) {
  image_id.push_back(id);
  identity.push_back(ident);
  dataset.push_back(ds);
  split.push_back(sp);
  species.push_back(species_name);
  label.push_back(lab);
}

EmbeddingsWriter::EmbeddingsWriter(fs::path path, EmbeddingRows rows, std::string shards)
    : path_(std::move(path)), rows_(std::move(rows)) {
  const std::string where = path_.string();
  const size_t n = rows_.size();
  if (rows_.identity.size() != n || rows_.dataset.size() != n || rows_.split.size() != n ||
      rows_.species.size() != n || rows_.label.size() != n)
    fail(path_, "embedding rows have columns of different lengths");
  if (fs::exists(path_)) {
    auto file = h5::open_file_readonly(where);
    check_header(file.get(), where);
    const EmbeddingRows existing = read_rows(file.get(), where);
    if (existing.size() != n)
      fail(path_, "holds " + std::to_string(existing.size()) + " rows, this run embeds " + std::to_string(n) +
                      " (a different shard set or split selection: use another --out)");
    for (size_t i = 0; i < n; ++i)
      if (existing.image_id[i] != rows_.image_id[i] || existing.split[i] != rows_.split[i])
        fail(path_, "row " + std::to_string(i) + " is '" + existing.image_id[i] + "' (" + existing.split[i] +
                        "), this run has '" + rows_.image_id[i] + "' (" + rows_.split[i] +
                        "): a different shard set or split selection, use another --out");
    return;
  }
  const fs::path tmp = checkpoints::temporary_sibling(path_);
  ::unlink(tmp.c_str());
  try {
    {
      auto file = h5::create_file(tmp.string());
      h5::write_attribute_string(file.get(), "format", kEmbeddingsFormat, where);
      h5::write_attribute_i64(file.get(), "schema_version", kEmbeddingsSchemaVersion, where);
      h5::write_attribute_string(file.get(), "shards", shards, where);
      write_rows(file.get(), rows_, where);
      h5::create_group(file.get(), kModelsGroup, where);
    }
    checkpoints::commit_file(tmp, path_);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

std::vector<std::string> EmbeddingsWriter::complete_models() const {
  std::vector<std::string> out;
  for (const auto& m : list_embedding_models(path_))
    if (m.complete) out.push_back(m.name);
  return out;
}

bool EmbeddingsWriter::has_complete_model(const std::string& name) const {
  const auto names = complete_models();
  return std::find(names.begin(), names.end(), name) != names.end();
}

void EmbeddingsWriter::add_model(const std::string& name, const ModelAttributes& attrs, const at::Tensor& embedding,
                                 const at::Tensor& logits, const std::vector<std::string>& label_names,
                                 bool replace) {
  check_model_name(path_, name);
  if (!replace && has_complete_model(name))
    fail(path_, "model '" + name + "' is already complete (pass replace to overwrite it)");
  const at::Tensor emb = as_cpu_matrix(embedding, path_, "model '" + name + "' embedding", rows_.size());
  at::Tensor log;
  if (logits.defined()) {
    log = as_cpu_matrix(logits, path_, "model '" + name + "' logits", rows_.size());
    if (label_names.size() != static_cast<size_t>(log.size(1)))
      fail(path_, "model '" + name + "': " + std::to_string(label_names.size()) + " label names for " +
                      std::to_string(log.size(1)) + " logit columns");
  } else if (!label_names.empty()) {
    fail(path_, "model '" + name + "': label names given without logits");
  }
  if (attrs.resize != "crop" && attrs.resize != "squash")
    fail(path_, "model '" + name + "': resize '" + attrs.resize + "' is not crop or squash");

  const fs::path tmp = checkpoints::temporary_sibling(path_);
  try {
    checkpoints::copy_file_synced(path_, tmp);
    {
      auto file = h5::open_file_readwrite(tmp.string());
      write_model(file.get(), name, attrs, emb, log, label_names, path_.string());
      if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) fail(path_, "HDF5: flush failed");
    }
    checkpoints::commit_file(tmp, path_);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

const ModelEmbeddings& Embeddings::model(const std::string& name) const {
  for (const auto& m : models)
    if (m.name == name) return m;
  std::string present;
  for (const auto& m : models) present += (present.empty() ? "" : ", ") + m.name;
  fail(path, "no model '" + name + "' among the models read (" + (present.empty() ? "none" : present) + ")");
}

std::vector<std::string> Embeddings::model_names() const {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.name);
  return out;
}

std::vector<ModelListing> list_embedding_models(const fs::path& path) {
  const std::string where = path.string();
  auto file = h5::open_file_readonly(where);
  check_header(file.get(), where);
  std::vector<ModelListing> out;
  if (!h5::has_link(file.get(), kModelsGroup)) return out;
  auto models = h5::open_group(file.get(), kModelsGroup, where);
  for (const auto& name : h5::link_names(models.get(), where))
    out.push_back({name, group_complete(models.get(), name, where)});
  return out;
}

Embeddings read_embeddings(const fs::path& path, const std::vector<std::string>& names) {
  const std::string where = path.string();
  auto file = h5::open_file_readonly(where);
  check_header(file.get(), where);
  Embeddings out;
  out.path = path;
  out.shards = h5::has_attribute(file.get(), "shards") ? h5::read_attribute_string(file.get(), "shards", where) : "";
  out.rows = read_rows(file.get(), where);

  const std::vector<ModelListing> listing = list_embedding_models(path);
  std::vector<std::string> wanted = names;
  if (wanted.empty())
    for (const auto& m : listing)
      if (m.complete) wanted.push_back(m.name);
  auto models = h5::has_link(file.get(), kModelsGroup) ? h5::open_group(file.get(), kModelsGroup, where) : h5::Handle();
  for (const auto& name : wanted) {
    const auto it = std::find_if(listing.begin(), listing.end(), [&](const ModelListing& m) { return m.name == name; });
    if (it == listing.end()) {
      std::string present;
      for (const auto& m : listing) present += (present.empty() ? "" : ", ") + m.name + (m.complete ? "" : " (incomplete)");
      fail(path, "no model '" + name + "' (models: " + (present.empty() ? "none" : present) + ")");
    }
    if (!it->complete)
      fail(path, "model '" + name + "' is incomplete (complete != 1: its embed was interrupted; run embed again)");
    out.models.push_back(read_model(models.get(), name, out.rows.size(), where));
  }
  return out;
}

}  // namespace wildreid::identify
