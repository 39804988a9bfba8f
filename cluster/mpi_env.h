// MPI bootstrap. We request MPI_THREAD_SERIALIZED and keep that promise by construction: the
// main thread makes MPI calls only during bootstrap (this class) and at finalisation, and in
// between every MPI call goes through the MPI backend's single communication thread. That
// avoids MPI_THREAD_MULTIPLE's locking and its patchy support across MPI builds.
// MPI is initialised only when a launcher's environment is present (mpirun: OMPI_COMM_WORLD_*,
// Slurm srun with PMIx/PMI2: PMIX_RANK / PMI_RANK) unless forced; without one the job is a
// single process of world size 1 and no MPI call is made at all.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cluster/topology.h"

namespace wildreid::cluster {

// True when a launcher that provides MPI's process management started this process.
bool launched_by_mpi_launcher();

class MpiEnv {
 public:
  // Calls MPI_Init_thread (unless MPI is already initialised) and fills the topology.
  static std::unique_ptr<MpiEnv> init(int* argc, char*** argv);
  ~MpiEnv();  // MPI_Finalize if we initialised it and finalize() was not called
  MpiEnv(const MpiEnv&) = delete;
  MpiEnv& operator=(const MpiEnv&) = delete;

  const Topology& topology() const { return topology_; }
  // Bootstrap helpers on MPI_COMM_WORLD (main thread, before the MPI backend starts).
  std::string broadcast_string(const std::string& value, int root) const;
  std::vector<std::string> allgather_strings(const std::string& value) const;
  void barrier() const;
  void finalize();
  // Leave MPI without finalising (a failed run: peers may be gone and finalize could block).
  void abandon() { finalized_ = true; }

 private:
  MpiEnv() = default;
  Topology topology_;
  bool finalized_ = false;
  bool owns_init_ = false;
};

}  // namespace wildreid::cluster
