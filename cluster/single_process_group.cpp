// See single_process_group.h.
#include "cluster/single_process_group.h"

#include <ATen/ATen.h>

namespace wildreid::cluster {
namespace {
struct DoneWork final : CollectiveWork {
  void wait() override {}
  bool is_completed() override { return true; }
};
}  // namespace

SingleProcessGroup::SingleProcessGroup(c10::Device device)
    : ProcessGroup(0, 1, std::chrono::milliseconds(0)), device_(device) {}

std::shared_ptr<CollectiveWork> SingleProcessGroup::do_allreduce(const at::Tensor&, ReduceOp) {
  return std::make_shared<DoneWork>();
}

std::shared_ptr<CollectiveWork> SingleProcessGroup::do_broadcast(const at::Tensor&, int) {
  return std::make_shared<DoneWork>();
}

std::vector<at::Tensor> SingleProcessGroup::do_allgather(const at::Tensor& tensor) {
  return {tensor.clone()};
}

}  // namespace wildreid::cluster
