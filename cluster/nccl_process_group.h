// The GPU collectives backend: c10d::ProcessGroupNCCL over the rendezvous TCPStore, one GPU
// per rank (device = local rank modulo the GPUs the rank sees, cluster/gpu_assignment.h; set
// before the first collective because NCCL creates its communicators lazily on the current device). Averages use NCCL's native AVG. Timeouts are
// NCCL's own watchdog's (TORCH_NCCL_ASYNC_ERROR_HANDLING tears the process down); our peer
// watchdog covers dead ranks. Kept in its own file so only this translation unit needs the
// NCCL and CUDA headers; it is always compiled and linked, and chosen at run time.
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <string>

#include "cluster/process_group.h"

namespace c10d { class Store; }

namespace wildreid::cluster {

// True when the CUDA runtime sees at least one GPU.
bool cuda_available();

// "GPU-<32 hex digits>": the UUID of CUDA device `device`, as nvidia-smi prints it.
std::string gpu_uuid(int device);

// Creates the NCCL-backed group on GPU `local_rank % visible GPUs`; throws std::runtime_error
// naming the rank when it sees no GPU or when two ranks would drive the same GPU (the ranks
// exchange their GPUs' UUIDs through `store`).
std::shared_ptr<ProcessGroup> make_nccl_process_group(c10::intrusive_ptr<c10d::Store> store,
                                                      int rank, int size, int local_rank,
                                                      int local_size,
                                                      std::chrono::milliseconds timeout);

}  // namespace wildreid::cluster
