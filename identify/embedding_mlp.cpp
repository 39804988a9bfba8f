// The network is a plain Sequential; the schedule is applied by setting the AdamW group's lr
// before each step. The best epoch's weights (by validation accuracy, then loss) are kept as a
// copy and restored at the end. Batches of one row are dropped (BatchNorm needs two).
#include "identify/embedding_mlp.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "identify/classifier.h"

namespace wildreid::identify {

struct EmbeddingMlp::Net {
  torch::nn::Sequential layers;
};

EmbeddingMlp::EmbeddingMlp() = default;
EmbeddingMlp::~EmbeddingMlp() = default;
EmbeddingMlp::EmbeddingMlp(EmbeddingMlp&&) noexcept = default;
EmbeddingMlp& EmbeddingMlp::operator=(EmbeddingMlp&&) noexcept = default;

namespace {

torch::nn::Sequential make_net(int64_t in, const std::vector<int64_t>& hidden, double dropout, int64_t classes) {
  torch::nn::Sequential net;
  int64_t width = in;
  for (const int64_t h : hidden) {
    net->push_back(torch::nn::Linear(width, h));
    net->push_back(torch::nn::BatchNorm1d(h));
    net->push_back(torch::nn::SiLU());
    net->push_back(torch::nn::Dropout(dropout));
    width = h;
  }
  net->push_back(torch::nn::Linear(width, classes));
  return net;
}

std::vector<at::Tensor> snapshot(const torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<at::Tensor>& saved) {
  at::NoGradGuard no_grad;
  size_t k = 0;
  for (auto& p : m.parameters()) p.copy_(saved[k++]);
  for (auto& b : m.buffers()) b.copy_(saved[k++]);
}

}  // namespace

void EmbeddingMlp::train(const at::Tensor& features, const Scenario& s, const RowTable& t, const MlpOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.hidden.empty()) throw std::invalid_argument("mlp: no hidden layer");
  device_ = o.device;
  // Classes: the database identities, sorted; rows grouped per class for the validation slice.
  std::map<std::string, std::vector<int64_t>> by_class;
  for (const int64_t r : s.database) by_class[t.key[r]].push_back(r);
  classes_.clear();
  std::map<std::string, int64_t> class_index;
  for (const auto& [key, rows] : by_class) {
    class_index[key] = static_cast<int64_t>(classes_.size());
    classes_.push_back(key);
  }
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> train_rows, val_rows;
  for (auto& [key, rows] : by_class) {
    std::vector<int64_t> shuffled = rows;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const int64_t n = static_cast<int64_t>(shuffled.size());
    const int64_t n_val = n >= 2 ? std::min<int64_t>(n - 1, static_cast<int64_t>(o.val_fraction * n + 0.5)) : 0;
    val_rows.insert(val_rows.end(), shuffled.begin(), shuffled.begin() + n_val);
    train_rows.insert(train_rows.end(), shuffled.begin() + n_val, shuffled.end());
  }
  std::sort(train_rows.begin(), train_rows.end());
  std::sort(val_rows.begin(), val_rows.end());
  const auto labels_of = [&](const std::vector<int64_t>& rows) {
    std::vector<int64_t> y;
    for (const int64_t r : rows) y.push_back(class_index.at(t.key[r]));
    return at::tensor(at::ArrayRef<int64_t>(y), at::kLong).to(o.device);
  };
  const auto rows_tensor = [&](const std::vector<int64_t>& rows) {
    return features.index_select(0, at::tensor(at::ArrayRef<int64_t>(rows), at::kLong)).to(o.device, at::kFloat);
  };
  const auto x_train = rows_tensor(train_rows), y_train = labels_of(train_rows);
  const auto x_val = val_rows.empty() ? at::Tensor() : rows_tensor(val_rows);
  const auto y_val = val_rows.empty() ? at::Tensor() : labels_of(val_rows);

  report_ = MlpReport{};
  report_.classes = static_cast<int64_t>(classes_.size());
  report_.train_rows = static_cast<int64_t>(train_rows.size());
  report_.val_rows = static_cast<int64_t>(val_rows.size());

  torch::manual_seed(o.seed);
  net_ = std::make_unique<Net>();
  net_->layers = make_net(features.size(1), o.hidden, o.dropout, report_.classes);
  net_->layers->to(o.device);
  torch::optim::AdamW optimizer(net_->layers->parameters(),
                                torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const int64_t n = x_train.size(0);
  const int64_t steps_per_epoch = std::max<int64_t>(1, (n + o.batch_size - 1) / o.batch_size);
  const int64_t total_steps = steps_per_epoch * o.epochs;
  const int64_t warmup = static_cast<int64_t>(o.warmup_ratio * static_cast<double>(total_steps));
  const auto lr_at = [&](int64_t step) {
    if (step < warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    return o.lr * std::max(0.0, static_cast<double>(total_steps - step) / static_cast<double>(total_steps - warmup));
  };

  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  std::vector<at::Tensor> best;
  double best_acc = -1, best_loss = 0;
  int64_t since_best = 0, step = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    net_->layers->train();
    const auto order = at::randperm(n, generator, at::kLong).to(o.device);
    double loss_sum = 0;
    int64_t seen = 0;
    for (int64_t b = 0; b < n; b += o.batch_size, ++step) {
      const int64_t size = std::min(o.batch_size, n - b);
      if (size < 2) continue;
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_at(step));
      const auto index = order.narrow(0, b, size);
      const auto loss = at::cross_entropy_loss(net_->layers->forward(x_train.index_select(0, index)),
                                               y_train.index_select(0, index));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * static_cast<double>(size);
      seen += size;
    }
    report_.epochs_run = epoch;
    double acc = 0, val_loss = 0;
    if (x_val.defined()) {
      at::NoGradGuard no_grad;
      net_->layers->eval();
      const auto logits = net_->layers->forward(x_val);
      acc = logits.argmax(1).eq(y_val).to(at::kDouble).mean().item<double>();
      val_loss = at::cross_entropy_loss(logits, y_val).item<double>();
    }
    if (o.log) {
      char line[160];
      std::snprintf(line, sizeof line, "epoch %lld/%lld loss %.4f val_acc %.4f val_loss %.4f",
                    static_cast<long long>(epoch), static_cast<long long>(o.epochs),
                    seen ? loss_sum / static_cast<double>(seen) : 0.0, acc, val_loss);
      o.log(line);
    }
    if (!x_val.defined()) continue;
    if (acc > best_acc || (acc == best_acc && val_loss < best_loss)) {
      best_acc = acc;
      best_loss = val_loss;
      report_.best_epoch = epoch;
      best = snapshot(*net_->layers);
      since_best = 0;
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  if (!best.empty()) restore(*net_->layers, best);
  if (!x_val.defined()) report_.best_epoch = report_.epochs_run;
  report_.best_val_accuracy = std::max(0.0, best_acc);
  net_->layers->eval();
  report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Predictions EmbeddingMlp::predict(const at::Tensor& features, const Scenario& s, const RowTable& t,
                                  bool within_dataset) const {
  if (!net_) throw std::logic_error("mlp used before train()");
  at::NoGradGuard no_grad;
  const auto q_rows = s.query_rows();
  const auto logits = net_->layers->forward(features.index_select(0, q_rows).to(device_, at::kFloat)).to(at::kCPU);
  const std::set<std::string> keys(classes_.begin(), classes_.end());
  const auto mask = class_mask_by_dataset(classes_, t, within_dataset, keys);
  const auto dataset = at::tensor(at::ArrayRef<int64_t>(t.dataset_id), at::kLong).index_select(0, q_rows);
  return argmax_softmax(logits, mask.index_select(0, dataset), classes_);
}

}  // namespace wildreid::identify
