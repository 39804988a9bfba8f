// Synthetic embeddings with a known answer, for tests and the identify benchmark (the way
// `trainer synth` gives images with a known answer): every individual is a point in a latent
// space, every photo a noisy copy of it, and every model sees the photo through its own random
// linear map plus a little noise of its own, so several models are redundant views like real
// backbones. Database images are split train/val per identity as the seed split does; unknown
// individuals appear only among the queries. Deterministic for a seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "identify/embeddings_file.h"

namespace wildreid::identify {

struct SyntheticEmbeddingsOptions {
  int64_t datasets = 3;
  int64_t identities = 20;        // known individuals per dataset
  int64_t unknowns = 6;           // query-only individuals per dataset
  int64_t database_images = 300;  // in all, spread evenly over the known individuals
  int64_t query_images = 90;      // in all
  double unknown_share = 0.3;     // of the query images, photos of unknown individuals
  int64_t latent = 32;            // latent dimension of an individual
  int64_t dim = 64;               // embedding width of every model
  int64_t models = 1;
  double photo_noise = 0.6;       // per-photo deviation from the individual (latent units)
  double model_noise = 0.05;      // per-model, per-photo noise (embedding units)
  bool logits = false;            // model 0 also gets classifier logits over the database identities
  double logit_scale = 10;
  uint64_t seed = 7;
};

struct SyntheticEmbeddings {
  EmbeddingRows rows;
  std::vector<ModelEmbeddings> models;  // "model0", "model1", ...
  std::string solution_csv;             // image_id,identity,new_identity,dataset,Usage (query rows)
};

SyntheticEmbeddings make_synthetic_embeddings(const SyntheticEmbeddingsOptions& options);

// Writes rows and models to an embeddings file (replacing nothing: `path` must not exist).
void write_synthetic_embeddings(const SyntheticEmbeddings& synthetic, const std::string& path);

}  // namespace wildreid::identify
