// The non-virtual half of ProcessGroup: counting, device/contiguity normalisation, and the
// string allgather built from two tensor allgathers (lengths, then padded bytes) so that every
// backend, NCCL included, gets it for free.
#include "cluster/process_group.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace wildreid::cluster {
namespace {

// Runs the collective on a contiguous copy on the backend's device, and copies the result
// back into the caller's tensor on wait().
class CopyBackWork final : public CollectiveWork {
 public:
  CopyBackWork(std::shared_ptr<CollectiveWork> inner, at::Tensor staged, at::Tensor target)
      : inner_(std::move(inner)), staged_(std::move(staged)), target_(std::move(target)) {}
  void wait() override {
    inner_->wait();
    if (!copied_) {
      target_.copy_(staged_);
      copied_ = true;
    }
  }
  bool is_completed() override { return inner_->is_completed(); }

 private:
  std::shared_ptr<CollectiveWork> inner_;
  at::Tensor staged_, target_;
  bool copied_ = false;
};

bool needs_staging(const at::Tensor& t, c10::Device device) {
  return !t.is_contiguous() || t.device() != device;
}

}  // namespace

std::shared_ptr<CollectiveWork> ProcessGroup::allreduce_async(const at::Tensor& tensor,
                                                              ReduceOp op) {
  ++issued_;
  if (!needs_staging(tensor, device())) return do_allreduce(tensor, op);
  at::Tensor staged = tensor.to(device()).contiguous().clone();
  return std::make_shared<CopyBackWork>(do_allreduce(staged, op), staged, tensor);
}

void ProcessGroup::allreduce(const at::Tensor& tensor, ReduceOp op) {
  allreduce_async(tensor, op)->wait();
}

std::shared_ptr<CollectiveWork> ProcessGroup::broadcast_async(const at::Tensor& tensor,
                                                              int root) {
  if (root < 0 || root >= size_)
    throw std::invalid_argument("broadcast: root rank " + std::to_string(root) +
                                " outside world of size " + std::to_string(size_));
  ++issued_;
  if (!needs_staging(tensor, device())) return do_broadcast(tensor, root);
  at::Tensor staged = tensor.to(device()).contiguous().clone();
  return std::make_shared<CopyBackWork>(do_broadcast(staged, root), staged, tensor);
}

void ProcessGroup::broadcast(const at::Tensor& tensor, int root) {
  broadcast_async(tensor, root)->wait();
}

std::vector<at::Tensor> ProcessGroup::allgather(const at::Tensor& tensor) {
  ++issued_;
  return do_allgather(tensor.to(device()).contiguous());
}

std::vector<std::string> ProcessGroup::allgather_strings(const std::string& value) {
  auto opts = at::TensorOptions().dtype(at::kLong);
  auto length = at::full({1}, static_cast<int64_t>(value.size()), opts);
  std::vector<at::Tensor> lengths = allgather(length);
  int64_t longest = 0;
  std::vector<int64_t> sizes;
  for (const auto& l : lengths) {
    sizes.push_back(l.to(at::kCPU).item<int64_t>());
    longest = std::max(longest, sizes.back());
  }
  auto bytes = at::zeros({std::max<int64_t>(longest, 1)}, at::TensorOptions().dtype(at::kByte));
  std::copy(value.begin(), value.end(), bytes.data_ptr<uint8_t>());
  std::vector<at::Tensor> gathered = allgather(bytes);
  std::vector<std::string> out;
  for (size_t r = 0; r < gathered.size(); ++r) {
    at::Tensor cpu = gathered[r].to(at::kCPU).contiguous();
    const auto* p = cpu.data_ptr<uint8_t>();
    out.emplace_back(reinterpret_cast<const char*>(p), static_cast<size_t>(sizes[r]));
  }
  return out;
}

void ProcessGroup::barrier() {
  ++issued_;
  do_barrier();
}

}  // namespace wildreid::cluster
