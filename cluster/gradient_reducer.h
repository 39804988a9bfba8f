// The DDP part, written for C++ (c10d::Reducer is not meant to be driven from C++): gradients
// are packed into buckets in reverse registration order (roughly the order backward produces
// them), identical on every rank; a post-accumulate-grad hook on each parameter copies its
// gradient into its bucket, and when a bucket and all buckets before it are full, its
// allreduce (average) starts asynchronously while backward goes on. Buckets are launched
// strictly in index order on every rank, so ranks never issue collectives in different orders.
// set_sync(false) makes the hooks do nothing (accumulation micro-steps: no communication);
// finish() fills the gradients of parameters that got none this step (zeros, or what earlier
// micro-steps accumulated) so every bucket is still reduced on every rank (no deadlock on
// unused parameters), waits for all buckets, copies the averages back into .grad and records
// the time spent waiting (exposed communication). A parameter without a gradient on every
// rank ends with a zero gradient.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/process_group.h"

namespace torch::nn { class Module; }

namespace wildreid::cluster {

struct GradientReducerOptions {
  int64_t bucket_cap_bytes = 25LL << 20;   // 25 MiB, like DDP
  // After finish(), each .grad is a view into its bucket instead of a copy (DDP's option of
  // the same name): saves the copy back, and the copy in when grads are zeroed in place
  // rather than reset to undefined. The views are overwritten by the next synchronised step.
  bool gradient_as_bucket_view = false;
  // Start buckets from the hooks during backward (true), or all in finish() (false). On CPU
  // ranks that already use every core, overlap only makes the communication thread compete
  // with backward (bench/cluster_reducer); on GPUs overlap is the point.
  bool overlap = true;
};

struct ReduceStats {
  double wait_seconds = 0;    // time finish() blocked on outstanding allreduces
  int64_t buckets = 0;        // allreduces issued this step
  int64_t bytes = 0;          // bytes reduced this step
  int64_t launched_in_backward = 0;  // buckets started by hooks (overlapped with backward)
};

class GradientReducer {
 public:
  // `parameters` in registration order (module.parameters()); those not requiring grad are
  // ignored. Registers one post-accumulate-grad hook on each (replacing any other); the
  // destructor removes them. Collective when size() > 1: checks that every rank built the same
  // bucket layout and throws std::runtime_error naming the first rank that differs.
  GradientReducer(std::vector<at::Tensor> parameters, std::shared_ptr<ProcessGroup> group,
                  GradientReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void set_sync(bool enabled);
  bool sync() const { return sync_; }
  // Ends the reduction of this step (no-op when sync is off). Returns seconds spent waiting.
  double finish();
  const ReduceStats& last_stats() const { return last_stats_; }

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Parameter indices (into the constructor's list) of each bucket, in launch order.
  std::vector<std::vector<int64_t>> bucket_layout() const;

  // Called by the hooks (public for them; not for users).
  void on_gradient_ready(int64_t param_index);

 private:
  struct Slot {
    at::Tensor param;
    int64_t bucket = -1;
    int64_t offset = 0;   // elements into the bucket's buffer
    bool ready = false;
  };
  struct Bucket {
    at::Tensor buffer;                 // flat, one dtype and device
    std::vector<int64_t> slots;
    int64_t pending = 0;               // slots not yet ready this step
    std::shared_ptr<CollectiveWork> work;
  };
  void check_same_layout_on_every_rank();
  at::Tensor bucket_view(const Slot& slot) const;
  void copy_into_bucket(Slot& slot);
  void launch_ready_buckets_locked();
  void reset_step_locked();

  std::shared_ptr<ProcessGroup> group_;
  GradientReducerOptions options_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  int64_t next_bucket_ = 0;            // the next bucket to launch, in index order
  bool sync_ = true;
  bool step_active_ = false;
  int64_t launched_in_backward_ = 0;
  ReduceStats last_stats_;
  std::mutex mutex_;
};

// Copies rank 0's parameters and buffers into every rank's module (flattened per dtype, one
// broadcast each), after checking that all ranks hold the same parameter names and shapes;
// throws std::runtime_error naming the first rank whose model differs.
void broadcast_module_state(torch::nn::Module& module, ProcessGroup& group);

}  // namespace wildreid::cluster
