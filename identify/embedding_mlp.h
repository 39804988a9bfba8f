// The embedding-MLP component (the seed's section 4.5): features of the concatenated embeddings
// (StandardScaler + PCA(0.99), see features.h) -> an MLP of five hidden layers of decreasing
// width (Linear, BatchNorm, SiLU, dropout) -> one logit per database identity, trained in LibTorch
// with cross-entropy, AdamW (lr 5e-4, weight decay 1e-2) and a linear schedule with warmup, with
// early stopping on a held-out slice of the database (10 epochs without improvement, at most
// 100). It is trained on the scenario's database side, so the calibration scenario gets its own
// twin that never saw the calibration images or the withheld identities.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include "identify/prediction.h"
#include "identify/scenario.h"

namespace wildreid::identify {

struct MlpOptions {
  std::vector<int64_t> hidden = {1024, 768, 512, 384, 256};
  double dropout = 0.3;
  double lr = 5e-4;
  double weight_decay = 1e-2;
  double warmup_ratio = 0.1;   // fraction of all steps of the epoch budget
  int64_t epochs = 100;        // at most
  int64_t patience = 10;       // epochs without a better validation accuracy before stopping
  int64_t batch_size = 256;
  double val_fraction = 0.1;   // of each identity's images (identities with >= 2 images only)
  uint64_t seed = 42;
  c10::Device device = c10::Device(c10::kCPU);
  std::function<void(const std::string&)> log;  // one line per epoch when set
};

struct MlpReport {
  int64_t classes = 0, train_rows = 0, val_rows = 0;
  int64_t epochs_run = 0, best_epoch = 0;
  double best_val_accuracy = 0;  // 0 when there is no validation slice (then: every epoch runs)
  double seconds = 0;
};

class EmbeddingMlp {
 public:
  EmbeddingMlp();
  ~EmbeddingMlp();
  EmbeddingMlp(EmbeddingMlp&&) noexcept;
  EmbeddingMlp& operator=(EmbeddingMlp&&) noexcept;

  // features: [rows, D] (one per row of the embeddings file); trains on scenario.database.
  void train(const at::Tensor& features, const Scenario& scenario, const RowTable& table, const MlpOptions& options);
  // Most probable identity per query, restricted to the query's dataset when within_dataset.
  Predictions predict(const at::Tensor& features, const Scenario& scenario, const RowTable& table,
                      bool within_dataset) const;
  const MlpReport& report() const { return report_; }

 private:
  struct Net;
  std::unique_ptr<Net> net_;
  std::vector<std::string> classes_;  // identity keys, column order
  MlpReport report_;
  c10::Device device_ = c10::Device(c10::kCPU);
};

}  // namespace wildreid::identify
