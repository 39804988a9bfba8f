// bench_cluster_allreduce: what our MPI collectives backend (a communication thread polling
// non-blocking MPI) costs compared with a plain blocking MPI_Allreduce on the same buffers, in
// one run: `mpirun -np 2 --oversubscribe build/bin/bench_cluster_allreduce`. Baseline and ours
// alternate in rounds so machine drift hits both; rank 0 prints one line per size with the
// mean milliseconds per average-allreduce of each and the ratio baseline/ours (>= 1: ours is as
// fast). The baseline's divide-by-world is included so both compute the same average.
#define OMPI_SKIP_MPICXX 1
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cluster/mpi_env.h"
#include "cluster/mpi_process_group.h"

using namespace wildreid::cluster;

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  auto env = MpiEnv::init(&argc, &argv);
  at::set_num_threads(1);
  const int rank = env->topology().rank, size = env->topology().world_size;
  const std::vector<int64_t> sizes_bytes{4 << 10, 1 << 20, 25 << 20};
  const int rounds = 3;
  std::vector<double> base(sizes_bytes.size()), ours(sizes_bytes.size());
  std::vector<int> iters;
  for (auto b : sizes_bytes) iters.push_back(b <= (4 << 10) ? 400 : b <= (1 << 20) ? 60 : 8);

  for (int round = 0; round < rounds; ++round) {
    // Baseline: main thread, blocking MPI (no communication thread exists now).
    for (size_t s = 0; s < sizes_bytes.size(); ++s) {
      auto t = at::ones({sizes_bytes[s] / 4});
      MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);  // warm-up
      MPI_Barrier(MPI_COMM_WORLD);
      double start = now_s();
      for (int i = 0; i < iters[s]; ++i) {
        MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
        t.div_(size);
      }
      base[s] += (now_s() - start) / iters[s];
    }
    // Ours: the backend owns MPI from construction to shutdown.
    {
      MpiProcessGroup group(std::chrono::seconds(120));
      for (size_t s = 0; s < sizes_bytes.size(); ++s) {
        auto t = at::ones({sizes_bytes[s] / 4});
        group.allreduce(t, ReduceOp::kAvg);
        group.barrier();
        double start = now_s();
        for (int i = 0; i < iters[s]; ++i) group.allreduce(t, ReduceOp::kAvg);
        ours[s] += (now_s() - start) / iters[s];
      }
      group.shutdown();
    }
  }
  if (rank == 0) {
    std::printf("world %d, torch threads 1, %d rounds alternating baseline/ours\n", size, rounds);
    for (size_t s = 0; s < sizes_bytes.size(); ++s) {
      double b = base[s] / rounds * 1e3, o = ours[s] / rounds * 1e3;
      std::printf("allreduce_avg %8lld bytes: mpi_blocking %.3f ms  wildreid_mpi %.3f ms  "
                  "ratio %.2f\n",
                  static_cast<long long>(sizes_bytes[s]), b, o, b / o);
    }
  }
  env->finalize();
  return 0;
}
