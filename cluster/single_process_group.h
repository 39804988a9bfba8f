// World size 1 with no launcher: every collective is the identity (the sum/average of one
// contribution is itself), completes at once, and needs neither MPI nor a store. It keeps the
// trainer's code path identical with and without mpirun.
#pragma once
#include "cluster/process_group.h"

namespace wildreid::cluster {

class SingleProcessGroup final : public ProcessGroup {
 public:
  explicit SingleProcessGroup(c10::Device device = c10::Device(c10::kCPU));
  c10::Device device() const override { return device_; }
  std::string backend_name() const override { return "single"; }
  void shutdown() override {}
  void abort() override {}

 protected:
  std::shared_ptr<CollectiveWork> do_allreduce(const at::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<CollectiveWork> do_broadcast(const at::Tensor& tensor, int root) override;
  std::vector<at::Tensor> do_allgather(const at::Tensor& tensor) override;
  void do_barrier() override {}

 private:
  c10::Device device_;
};

}  // namespace wildreid::cluster
