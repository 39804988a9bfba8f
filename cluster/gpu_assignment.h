// Which GPU a rank drives. Under mpirun every rank of a node sees all of the node's GPUs; under
// Slurm's --gpus-per-task / --gpu-bind, or with a per-rank CUDA_VISIBLE_DEVICES, each rank sees
// only its own. `local_rank % visible` is right in both cases. Whether two ranks really share a
// GPU cannot be told from counts (eight ranks that each see one GPU are fine; eight that all see
// the same one are not), so the NCCL backend compares the chosen GPUs' identities across ranks.
// Pure functions, no CUDA: unit-tested on any machine.
#pragma once
#include <string>
#include <vector>

namespace wildreid::cluster {

// The device index for a rank that sees `visible_devices` GPUs. Throws std::runtime_error naming
// `rank` when it sees none.
int choose_cuda_device(int rank, int local_rank, int visible_devices);

// gpu_ids[r] identifies the physical GPU rank r chose (its UUID). Throws std::runtime_error naming
// the first two ranks that drive the same GPU (NCCL cannot put two ranks on one GPU).
void check_distinct_gpus(const std::vector<std::string>& gpu_ids);

}  // namespace wildreid::cluster
