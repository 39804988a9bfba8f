// MPI bootstrap: thread level, world and node-local ranks, node name, string collectives used
// before the process group exists (rendezvous address, host names).
#include "cluster/mpi_env.h"

// The C API only: OpenMPI's mpi.h would otherwise pull in its deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace wildreid::cluster {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(text, len));
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0';
}

}  // namespace

bool launched_by_mpi_launcher() {
  // OpenMPI's mpirun/prterun, Slurm srun with PMIx or PMI2, MPICH/Hydra.
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK") ||
         env_set("PMI_SIZE");
}

std::unique_ptr<MpiEnv> MpiEnv::init(int* argc, char*** argv) {
  std::unique_ptr<MpiEnv> env(new MpiEnv());
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    env->owns_init_ = true;
    if (provided < MPI_THREAD_SERIALIZED) {
      MPI_Finalize();
      throw std::runtime_error("MPI provides thread level " + std::to_string(provided) +
                               ", wildreid needs MPI_THREAD_SERIALIZED");
    }
  }
  // Errors come back as codes (turned into exceptions naming the call) instead of aborting.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Topology& t = env->topology_;
  t.mpi = true;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &t.rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &t.world_size), "MPI_Comm_size");
  MPI_Comm node_comm;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, t.rank, MPI_INFO_NULL,
                            &node_comm),
        "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)");
  check(MPI_Comm_rank(node_comm, &t.local_rank), "MPI_Comm_rank(node)");
  check(MPI_Comm_size(node_comm, &t.local_size), "MPI_Comm_size(node)");
  MPI_Comm_free(&node_comm);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  check(MPI_Get_processor_name(name, &len), "MPI_Get_processor_name");
  t.node_name.assign(name, len);
  return env;
}

MpiEnv::~MpiEnv() {
  if (!finalized_ && owns_init_) MPI_Finalize();
}

void MpiEnv::finalize() {
  if (finalized_) return;
  finalized_ = true;
  if (owns_init_) MPI_Finalize();
}

std::string MpiEnv::broadcast_string(const std::string& value, int root) const {
  long long size = static_cast<long long>(value.size());
  check(MPI_Bcast(&size, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD), "MPI_Bcast(length)");
  std::string out = topology_.rank == root ? value : std::string(size, '\0');
  if (size > 0) check(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, root,
                                MPI_COMM_WORLD), "MPI_Bcast(bytes)");
  return out;
}

std::vector<std::string> MpiEnv::allgather_strings(const std::string& value) const {
  int n = topology_.world_size;
  int mine = static_cast<int>(value.size());
  std::vector<int> sizes(n), displs(n);
  check(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD),
        "MPI_Allgather(lengths)");
  int total = 0;
  for (int r = 0; r < n; ++r) {
    displs[r] = total;
    total += sizes[r];
  }
  std::string all(total, '\0');
  check(MPI_Allgatherv(value.data(), mine, MPI_CHAR, all.data(), sizes.data(), displs.data(),
                       MPI_CHAR, MPI_COMM_WORLD),
        "MPI_Allgatherv(bytes)");
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r) out.push_back(all.substr(displs[r], sizes[r]));
  return out;
}

void MpiEnv::barrier() const { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

}  // namespace wildreid::cluster
