// See gradient_reducer.h. The hook is a C++ PostAccumulateGradHook (what Python's
// register_post_accumulate_grad_hook installs), so it fires after AccumulateGrad has added this
// backward's contribution to .grad: the bucket gets the full local sum, accumulation included.
#include "cluster/gradient_reducer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/nn/module.h>

#include <chrono>
#include <functional>
#include <stdexcept>

namespace wildreid::cluster {
namespace {

class ReadyHook final : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(GradientReducer* reducer, int64_t index) : reducer_(reducer), index_(index) {}
  void operator()(const torch::autograd::Variable&) override {
    reducer_->on_gradient_ready(index_);
  }

 private:
  GradientReducer* reducer_;
  int64_t index_;
};

}  // namespace

GradientReducer::GradientReducer(std::vector<at::Tensor> parameters,
                                 std::shared_ptr<ProcessGroup> group,
                                 GradientReducerOptions options)
    : group_(std::move(group)), options_(options) {
  if (!group_) throw std::invalid_argument("GradientReducer: no process group");
  if (options_.bucket_cap_bytes <= 0)
    throw std::invalid_argument("GradientReducer: bucket_cap_bytes must be > 0, got " +
                                std::to_string(options_.bucket_cap_bytes));
  for (auto& p : parameters)
    if (p.defined() && p.requires_grad()) slots_.push_back(Slot{p});

  // Buckets in reverse registration order, split on the size cap and on dtype/device changes.
  int64_t bytes = 0;
  for (int64_t i = static_cast<int64_t>(slots_.size()) - 1; i >= 0; --i) {
    const at::Tensor& p = slots_[i].param;
    int64_t nbytes = p.numel() * static_cast<int64_t>(p.element_size());
    bool open_new = buckets_.empty();
    if (!open_new) {
      const at::Tensor& first = slots_[buckets_.back().slots.front()].param;
      open_new = first.scalar_type() != p.scalar_type() || first.device() != p.device() ||
                 bytes + nbytes > options_.bucket_cap_bytes;
    }
    if (open_new) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    slots_[i].bucket = static_cast<int64_t>(buckets_.size()) - 1;
    slots_[i].offset = bytes / static_cast<int64_t>(p.element_size());
    b.slots.push_back(i);
    bytes += nbytes;
  }
  for (auto& b : buckets_) {
    const at::Tensor& first = slots_[b.slots.front()].param;
    int64_t numel = 0;
    for (int64_t s : b.slots) numel += slots_[s].param.numel();
    b.buffer = at::zeros({numel}, first.options().requires_grad(false));
    b.pending = static_cast<int64_t>(b.slots.size());
  }
  check_same_layout_on_every_rank();
  for (size_t i = 0; i < slots_.size(); ++i)
    torch::autograd::impl::set_post_acc_grad_hooks(
        slots_[i].param, std::make_unique<ReadyHook>(this, static_cast<int64_t>(i)));
}

// Ranks whose buckets differ (a parameter frozen on one rank only, a different model) would
// issue allreduces of different sizes: MPI would fail obscurely and NCCL could hang. Compare
// a digest of the layout once, at construction (every rank constructs its reducer).
void GradientReducer::check_same_layout_on_every_rank() {
  if (group_->size() <= 1) return;
  std::string layout;
  for (const auto& b : buckets_)
    layout += std::to_string(b.buffer.numel()) + c10::toString(b.buffer.scalar_type()) + ";";
  std::string digest = std::to_string(slots_.size()) + " parameters, " +
                       std::to_string(buckets_.size()) + " buckets, layout " +
                       std::to_string(std::hash<std::string>{}(layout));
  auto digests = group_->allgather_strings(digest);
  for (size_t r = 0; r < digests.size(); ++r)
    if (digests[r] != digests[0])
      throw std::runtime_error("GradientReducer: rank " + std::to_string(r) + " has " +
                               digests[r] + " but rank 0 has " + digests[0] +
                               " (same model and requires_grad flags on every rank?)");
}

GradientReducer::~GradientReducer() {
  for (auto& s : slots_) torch::autograd::impl::set_post_acc_grad_hooks(s.param, nullptr);
}

void GradientReducer::set_sync(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (step_active_ && !enabled)
    throw std::logic_error("GradientReducer::set_sync(false) while a synchronised step is "
                           "in progress; call finish() first");
  sync_ = enabled;
}

std::vector<std::vector<int64_t>> GradientReducer::bucket_layout() const {
  std::vector<std::vector<int64_t>> out;
  for (const auto& b : buckets_) out.push_back(b.slots);
  return out;
}

// The slot's region of its bucket with the parameter's shape and strides: a channels-last weight
// keeps its memory order in the bucket, so copies in and out are straight and a grad made from
// (or viewing) the bucket has the parameter's layout, which CUDA's fused AdamW requires.
at::Tensor GradientReducer::bucket_view(const Slot& slot) const {
  const at::Tensor flat = buckets_[slot.bucket].buffer.narrow(0, slot.offset, slot.param.numel());
  if (slot.param.is_non_overlapping_and_dense())
    return flat.as_strided(slot.param.sizes(), slot.param.strides(), flat.storage_offset());
  return flat.view(slot.param.sizes());
}

void GradientReducer::copy_into_bucket(Slot& slot) {
  at::Tensor view = bucket_view(slot);
  const at::Tensor& grad = slot.param.grad();
  if (grad.defined() && grad.data_ptr() == view.data_ptr() && grad.strides() == view.strides()) {
    // Already the bucket's view (gradient_as_bucket_view): AccumulateGrad summed in place.
  } else if (grad.defined()) {
    view.copy_(grad);
  } else {
    view.zero_();
  }
}

void GradientReducer::on_gradient_ready(int64_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_) return;
  Slot& slot = slots_.at(index);
  if (slot.ready)
    throw std::logic_error("GradientReducer: gradient of parameter #" + std::to_string(index) +
                           " became ready twice in one synchronised step (call finish() after "
                           "each synchronised backward)");
  step_active_ = true;
  copy_into_bucket(slot);
  slot.ready = true;
  --buckets_[slot.bucket].pending;
  if (!options_.overlap) return;  // finish() launches every bucket
  int64_t before = next_bucket_;
  launch_ready_buckets_locked();
  launched_in_backward_ += next_bucket_ - before;
}

void GradientReducer::launch_ready_buckets_locked() {
  while (next_bucket_ < static_cast<int64_t>(buckets_.size()) &&
         buckets_[next_bucket_].pending == 0) {
    Bucket& b = buckets_[next_bucket_];
    b.work = group_->allreduce_async(b.buffer, ReduceOp::kAvg);
    ++next_bucket_;
  }
}

double GradientReducer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_) {
    last_stats_ = ReduceStats{};
    return 0.0;
  }
  // Parameters whose hook did not fire (unused this step): their accumulated grad or zeros.
  for (auto& slot : slots_) {
    if (slot.ready) continue;
    copy_into_bucket(slot);
    slot.ready = true;
    --buckets_[slot.bucket].pending;
  }
  launch_ready_buckets_locked();

  ReduceStats stats;
  stats.launched_in_backward = launched_in_backward_;
  auto start = std::chrono::steady_clock::now();
  for (auto& b : buckets_) {
    b.work->wait();
    stats.buckets += 1;
    stats.bytes += b.buffer.nbytes();
  }
  stats.wait_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  at::NoGradGuard no_grad;
  for (auto& slot : slots_) {
    const at::Tensor reduced = bucket_view(slot);
    at::Tensor& grad = slot.param.mutable_grad();
    if (options_.gradient_as_bucket_view) {
      // The grad becomes the bucket's view: no copy back, and while the caller zeroes grads
      // in place (not to None) the next backward accumulates straight into the bucket.
      if (!grad.defined() || grad.data_ptr() != reduced.data_ptr()) grad = reduced;
    } else if (grad.defined()) {
      grad.copy_(reduced);
    } else {
      // Unused this step: a grad laid out like the parameter (not a contiguous clone).
      grad = at::empty_like(slot.param, at::MemoryFormat::Preserve).copy_(reduced);
    }
  }
  reset_step_locked();
  last_stats_ = stats;
  return stats.wait_seconds;
}

void GradientReducer::reset_step_locked() {
  for (auto& s : slots_) s.ready = false;
  for (auto& b : buckets_) {
    b.pending = static_cast<int64_t>(b.slots.size());
    b.work.reset();
  }
  next_bucket_ = 0;
  launched_in_backward_ = 0;
  step_active_ = false;
}

void broadcast_module_state(torch::nn::Module& module, ProcessGroup& group) {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (auto& item : module.named_parameters(true)) entries.emplace_back(item.key(), item.value());
  for (auto& item : module.named_buffers(true))
    if (item.value().defined()) entries.emplace_back(item.key(), item.value());

  // Same names, shapes and dtypes everywhere, or a clear error naming the rank.
  std::string signature;
  for (auto& [name, t] : entries) {
    signature += name;
    signature += '[';
    for (auto d : t.sizes()) signature += std::to_string(d) + ",";
    signature += ']';
    signature += c10::toString(t.scalar_type());
    signature += ';';
  }
  std::string digest = std::to_string(entries.size()) + "/" +
                       std::to_string(std::hash<std::string>{}(signature));
  auto digests = group.allgather_strings(digest);
  for (size_t r = 1; r < digests.size(); ++r)
    if (digests[r] != digests[0])
      throw std::runtime_error("broadcast_module_state: rank " + std::to_string(r) +
                               " holds a different model than rank 0 (tensors/hash " +
                               digests[r] + " vs " + digests[0] + ")");

  // One broadcast per (dtype, device) group of flattened tensors.
  at::NoGradGuard no_grad;
  std::vector<bool> done(entries.size(), false);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (done[i]) continue;
    std::vector<size_t> members;
    for (size_t j = i; j < entries.size(); ++j) {
      const at::Tensor& a = entries[i].second;
      const at::Tensor& b = entries[j].second;
      if (!done[j] && a.scalar_type() == b.scalar_type() && a.device() == b.device()) {
        members.push_back(j);
        done[j] = true;
      }
    }
    std::vector<at::Tensor> flat;
    for (size_t j : members) flat.push_back(entries[j].second.detach().reshape(-1));
    at::Tensor packed = at::cat(flat);
    group.broadcast(packed, 0);
    int64_t offset = 0;
    for (size_t j : members) {
      at::Tensor t = entries[j].second.detach();
      t.copy_(packed.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace wildreid::cluster
