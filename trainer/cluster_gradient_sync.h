// Adapts the cluster library's bucketed GradientReducer to the compute core's GradientSync
// interface (the core stays free of cluster's MPI parts; this header is only used by the loop).
#pragma once
#include "cluster/gradient_reducer.h"
#include "trainer/gradient_sync.h"

namespace wildreid::trainer {

class ClusterGradientSync final : public GradientSync {
 public:
  ClusterGradientSync(cluster::GradientReducer& reducer, int world_size)
      : reducer_(reducer), world_size_(world_size) {}
  void set_sync(bool enabled) override { reducer_.set_sync(enabled); }
  double finish() override { return reducer_.finish(); }
  int world_size() const override { return world_size_; }

 private:
  cluster::GradientReducer& reducer_;
  int world_size_;
};

}  // namespace wildreid::trainer
