// The one collectives interface the trainer, the reducer and monitoring use, whatever the
// transport: NCCL on GPUs (c10d::ProcessGroupNCCL), our MPI-backed CPU backend (the torch wheel
// ships no gloo headers), or a single-process backend. The backend is chosen by code at run time
// (cluster.h); each lives in its own file. Public calls are non-virtual so that every collective
// is counted in one place (tests check that accumulation micro-steps issue none) and so that
// non-contiguous tensors are handled once, not per backend.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wildreid::cluster {

enum class ReduceOp { kSum, kAvg };

// A collective failed or exceeded its timeout; the message names the operation and the rank.
struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Handle of an asynchronous collective. wait() blocks until the result is in the tensor (for
// NCCL: until the current CUDA stream is ordered after it) and throws CollectiveError on failure.
class CollectiveWork {
 public:
  virtual ~CollectiveWork() = default;
  virtual void wait() = 0;
  virtual bool is_completed() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Where tensors given to collectives must live: cuda:<local rank> for NCCL, else CPU.
  virtual c10::Device device() const = 0;
  virtual std::string backend_name() const = 0;
  std::chrono::milliseconds timeout() const { return timeout_; }

  // In place on `tensor` (any shape; contiguous or not). kAvg divides by size().
  std::shared_ptr<CollectiveWork> allreduce_async(const at::Tensor& tensor, ReduceOp op);
  void allreduce(const at::Tensor& tensor, ReduceOp op = ReduceOp::kSum);
  // In place: every rank's `tensor` receives root's.
  std::shared_ptr<CollectiveWork> broadcast_async(const at::Tensor& tensor, int root);
  void broadcast(const at::Tensor& tensor, int root = 0);
  // Every rank gives a tensor of the same shape and dtype; returns size() tensors, rank order.
  std::vector<at::Tensor> allgather(const at::Tensor& tensor);
  // Strings of any length (e.g. "host:port" of each rank's metrics exporter), rank order.
  std::vector<std::string> allgather_strings(const std::string& value);
  void barrier();

  // Clean end: waits for outstanding work, releases communicators. Idempotent.
  virtual void shutdown() = 0;
  // Failure end: drops outstanding work without waiting (a peer is gone). Idempotent.
  virtual void abort() = 0;

  // Collectives issued through this object so far (all kinds, barrier included).
  int64_t collectives_issued() const { return issued_.load(); }

 protected:
  ProcessGroup(int rank, int size, std::chrono::milliseconds timeout)
      : rank_(rank), size_(size), timeout_(timeout) {}
  // Backends get contiguous tensors on device().
  virtual std::shared_ptr<CollectiveWork> do_allreduce(const at::Tensor& tensor, ReduceOp op) = 0;
  virtual std::shared_ptr<CollectiveWork> do_broadcast(const at::Tensor& tensor, int root) = 0;
  virtual std::vector<at::Tensor> do_allgather(const at::Tensor& tensor) = 0;
  virtual void do_barrier() = 0;

 private:
  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;
  std::atomic<int64_t> issued_{0};
};

}  // namespace wildreid::cluster
