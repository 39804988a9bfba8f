// See nccl_process_group.h.
#include "cluster/nccl_process_group.h"
#include "cluster/error_text.h"
#include "cluster/gpu_assignment.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace wildreid::cluster {
namespace {

class NcclWork final : public CollectiveWork {
 public:
  NcclWork(c10::intrusive_ptr<c10d::Work> work, std::string what)
      : work_(std::move(work)), what_(std::move(what)) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      throw CollectiveError(what_ + ": " + error_text(e));
    }
  }
  bool is_completed() override { return work_->isCompleted(); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::string what_;
};

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int size, int device_index,
                   std::chrono::milliseconds timeout)
      : ProcessGroup(rank, size, timeout), device_(c10::kCUDA, device_index) {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("wildreid/nccl", store);
    group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, size, options);
  }
  ~NcclProcessGroup() override { shutdown(); }

  c10::Device device() const override { return device_; }
  std::string backend_name() const override { return "nccl"; }
  void shutdown() override {
    if (closed_) return;
    closed_ = true;
    group_->shutdown();
  }
  void abort() override {
    if (closed_) return;
    closed_ = true;
    group_->abort();
  }

 protected:
  std::shared_ptr<CollectiveWork> do_allreduce(const at::Tensor& tensor, ReduceOp op) override {
    std::vector<at::Tensor> tensors{tensor};
    c10d::AllreduceOptions opts;
    opts.reduceOp = op == ReduceOp::kAvg ? c10d::ReduceOp::AVG : c10d::ReduceOp::SUM;
    opts.timeout = timeout();
    return std::make_shared<NcclWork>(group_->allreduce(tensors, opts), label("allreduce"));
  }
  std::shared_ptr<CollectiveWork> do_broadcast(const at::Tensor& tensor, int root) override {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = timeout();
    return std::make_shared<NcclWork>(group_->broadcast(tensors, opts), label("broadcast"));
  }
  std::vector<at::Tensor> do_allgather(const at::Tensor& tensor) override {
    std::vector<at::Tensor> inputs{tensor};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < size(); ++r) outputs[0].push_back(at::empty_like(tensor));
    NcclWork(group_->allgather(outputs, inputs), label("allgather")).wait();
    return outputs[0];
  }
  void do_barrier() override {
    c10d::BarrierOptions opts;
    opts.device_ids = {static_cast<int64_t>(device_.index())};
    opts.timeout = timeout();
    NcclWork(group_->barrier(opts), label("barrier")).wait();
  }

 private:
  std::string label(const char* op) const {
    return "rank " + std::to_string(rank()) + ": NCCL " + op;
  }
  c10::Device device_;
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> group_;
  bool closed_ = false;
};

}  // namespace

bool cuda_available() { return c10::cuda::device_count() > 0; }

std::string gpu_uuid(int device) {
  const cudaDeviceProp* props = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(device));
  static const char* hex = "0123456789abcdef";
  std::string out = "GPU-";
  for (int i = 0; i < 16; ++i) {
    const auto byte = static_cast<unsigned char>(props->uuid.bytes[i]);
    out += hex[byte >> 4];
    out += hex[byte & 15];
  }
  return out;
}

std::shared_ptr<ProcessGroup> make_nccl_process_group(c10::intrusive_ptr<c10d::Store> store,
                                                      int rank, int size, int local_rank,
                                                      int local_size,
                                                      std::chrono::milliseconds timeout) {
  const int device = choose_cuda_device(rank, local_rank, c10::cuda::device_count());
  if (size > 1) {
    // Every rank publishes the UUID of the GPU it chose; two equal UUIDs mean two ranks on one GPU.
    store->set("wildreid/gpu/" + std::to_string(rank), gpu_uuid(device));
    std::vector<std::string> ids;
    for (int r = 0; r < size; ++r) {
      const auto bytes = store->get("wildreid/gpu/" + std::to_string(r));
      ids.emplace_back(bytes.begin(), bytes.end());
    }
    try {
      check_distinct_gpus(ids);
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(rank) + " (local rank " + std::to_string(local_rank) +
                               " of " + std::to_string(local_size) + "): " + e.what());
    }
  }
  return std::make_shared<NcclProcessGroup>(std::move(store), rank, size, device, timeout);
}

}  // namespace wildreid::cluster
