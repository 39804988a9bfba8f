#include "identify/synthetic_embeddings.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "data/csv_reader.h"
#include "identify/prediction.h"

namespace wildreid::identify {

SyntheticEmbeddings make_synthetic_embeddings(const SyntheticEmbeddingsOptions& o) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const auto normal = [&](std::vector<int64_t> shape) { return at::randn(shape, gen, at::kFloat); };
  SyntheticEmbeddings out;
  std::vector<at::Tensor> photo_latents;
  std::vector<at::Tensor> class_latents;
  std::vector<std::string> class_names;
  out.solution_csv = data::csv_row({"image_id", "identity", "new_identity", "dataset", "Usage"});
  // Photo counts: database and known-query photos dealt round-robin over the known individuals,
  // unknown-query photos over the unknown ones.
  const int64_t known_total = o.datasets * o.identities, unknown_total = o.datasets * o.unknowns;
  const int64_t unknown_queries = unknown_total > 0 ? std::llround(o.unknown_share * o.query_images) : 0;
  const int64_t known_queries = o.query_images - unknown_queries;
  const auto share = [](int64_t total, int64_t parts, int64_t index) {
    return parts > 0 ? total / parts + (index < total % parts ? 1 : 0) : 0;
  };
  int64_t query_count = 0;
  for (int64_t d = 0; d < o.datasets; ++d) {
    const std::string dataset = "Synth" + std::to_string(d);
    const auto add_individual = [&](const std::string& identity, int64_t database, int64_t queries) {
      const auto center = normal({o.latent});
      const bool known = database > 0;
      if (known) {
        class_latents.push_back(center);
        class_names.push_back(identity_key(dataset, identity));
      }
      // Seed-split shape: an identity with n >= 2 images puts clamp(round(0.2 n), 1, n - 1) in val.
      const int64_t n_val = database >= 2 ? std::clamp<int64_t>(std::llround(0.2 * database), 1, database - 1) : 0;
      for (int64_t k = 0; k < database + queries; ++k) {
        const bool query = k >= database;
        const std::string id = identity + "_" + std::to_string(k);
        photo_latents.push_back(center + o.photo_noise * normal({o.latent}));
        out.rows.push_back(id, query ? "" : identity, dataset, query ? "query" : (k < n_val ? "val" : "train"),
                           "synthetic", -1);
        if (query)
          out.solution_csv += data::csv_row({id, identity, known ? identity : kNewIndividual, dataset,
                                             (query_count++ % 2) ? "Private" : "Public"});
      }
    };
    for (int64_t i = 0; i < o.identities; ++i) {
      const int64_t g = d * o.identities + i;
      add_individual(dataset + "_id" + std::to_string(i), share(o.database_images, known_total, g),
                     share(known_queries, known_total, g));
    }
    for (int64_t i = 0; i < o.unknowns; ++i)
      add_individual(dataset + "_new" + std::to_string(i), 0, share(unknown_queries, unknown_total, d * o.unknowns + i));
  }
  const auto latents = at::stack(photo_latents);
  const int64_t n = latents.size(0);
  for (int64_t m = 0; m < o.models; ++m) {
    const auto map = normal({o.latent, o.dim}) / std::sqrt(static_cast<double>(o.latent));
    ModelEmbeddings model;
    model.name = "model" + std::to_string(m);
    model.attrs.arch = "synthetic";
    model.attrs.weights = "seed " + std::to_string(o.seed);
    model.attrs.img_size = 0;
    model.embedding = at::mm(latents, map) + o.model_noise * normal({n, o.dim});
    if (m == 0 && o.logits) {
      const auto classes = at::mm(at::stack(class_latents), map);
      const auto unit = [](const at::Tensor& x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); };
      model.logits = o.logit_scale * at::mm(unit(model.embedding), unit(classes).t());
      model.label_names = class_names;
    }
    out.models.push_back(std::move(model));
  }
  // Labels as a packed shard set would have them: dense over sorted (dataset, identity) of train rows.
  std::vector<std::string> keys;
  for (size_t i = 0; i < out.rows.size(); ++i)
    if (out.rows.split[i] == "train") keys.push_back(identity_key(out.rows.dataset[i], out.rows.identity[i]));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (size_t i = 0; i < out.rows.size(); ++i) {
    if (out.rows.identity[i].empty()) continue;
    const auto it = std::lower_bound(keys.begin(), keys.end(), identity_key(out.rows.dataset[i], out.rows.identity[i]));
    if (it != keys.end() && *it == identity_key(out.rows.dataset[i], out.rows.identity[i]))
      out.rows.label[i] = it - keys.begin();
  }
  return out;
}

void write_synthetic_embeddings(const SyntheticEmbeddings& s, const std::string& path) {
  EmbeddingsWriter writer(path, s.rows, "synthetic");
  for (const auto& m : s.models) writer.add_model(m.name, m.attrs, m.embedding, m.logits, m.label_names);
}

}  // namespace wildreid::identify
