// See gpu_assignment.h.
#include "cluster/gpu_assignment.h"

#include <map>
#include <stdexcept>

namespace wildreid::cluster {

int choose_cuda_device(int rank, int local_rank, int visible_devices) {
  if (visible_devices <= 0)
    throw std::runtime_error("rank " + std::to_string(rank) +
                             ": the NCCL backend needs a GPU, but this rank sees none (check "
                             "CUDA_VISIBLE_DEVICES and the job's GPU request), or choose the mpi backend");
  return local_rank % visible_devices;
}

void check_distinct_gpus(const std::vector<std::string>& gpu_ids) {
  std::map<std::string, size_t> first_user;
  for (size_t r = 0; r < gpu_ids.size(); ++r) {
    auto [it, inserted] = first_user.emplace(gpu_ids[r], r);
    if (!inserted)
      throw std::runtime_error("ranks " + std::to_string(it->second) + " and " + std::to_string(r) +
                               " would both drive GPU " + gpu_ids[r] +
                               ": start at most one rank per GPU (each node runs more ranks than the GPUs "
                               "its ranks can see), or choose the mpi backend");
  }
}

}  // namespace wildreid::cluster
