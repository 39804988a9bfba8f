// The similarity pipelines WildFusion fuses. A global pipeline holds one L2-normalised feature
// vector per row (one model's embedding, or several concatenated through scaler + PCA) and can
// shortlist; a local pipeline scores only the pairs it is given through a PairScorer (matching/,
// wired in by trainer/commands) and caches them, since several WildFusion components may ask for
// the same shortlisted pairs.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>

#include "identify/pair_scorer.h"
#include "identify/scenario.h"
#include "identify/similarity.h"

namespace wildreid::identify {

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  virtual const std::string& name() const = 0;
  // Scores of query row query_rows[i] with database row database_rows[i, j] (-1: no pair, -inf).
  // Result float32 [Q, B] on the CPU.
  virtual at::Tensor score(const std::vector<int64_t>& query_rows, const at::Tensor& database_rows) = 0;
};

class GlobalPipeline : public Pipeline {
 public:
  // features: [rows, D], L2-normalised, one per row of the embeddings file.
  GlobalPipeline(std::string name, at::Tensor features, ShortlistOptions options);
  const std::string& name() const override { return name_; }
  at::Tensor score(const std::vector<int64_t>& query_rows, const at::Tensor& database_rows) override;

  // The scenario's queries' top-`top` database rows (row indices, -1 past the candidates) and
  // their cosines, best first; with `within_dataset`, only rows of the query's dataset.
  Shortlist shortlist(const Scenario& scenario, const RowTable& table, int64_t top, bool within_dataset) const;
  const at::Tensor& features() const { return features_; }

 private:
  std::string name_;
  at::Tensor features_;
  ShortlistOptions options_;
};

class LocalPipeline : public Pipeline {
 public:
  LocalPipeline(std::string name, std::unique_ptr<PairScorer> scorer, const EmbeddingRows& rows);
  const std::string& name() const override { return name_; }
  at::Tensor score(const std::vector<int64_t>& query_rows, const at::Tensor& database_rows) override;
  size_t pairs_scored() const { return cache_.size(); }

 private:
  std::string name_;
  std::unique_ptr<PairScorer> scorer_;
  const EmbeddingRows& rows_;
  std::map<std::pair<int64_t, int64_t>, float> cache_;
};

}  // namespace wildreid::identify
