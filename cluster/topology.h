// Where this process sits in the job: world rank/size, rank and size on its node, node name.
// Plain data with no MPI or torch types so every library (trainer, monitoring) can take it.
#pragma once
#include <string>

namespace wildreid::cluster {

struct Topology {
  int rank = 0;             // world rank, 0..world_size-1
  int world_size = 1;
  int local_rank = 0;       // rank among the processes sharing this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
  std::string node_name;    // MPI processor name or gethostname()
  bool mpi = false;         // true when MPI was initialised (a launcher or an explicit request)
  bool is_root() const { return rank == 0; }
};

}  // namespace wildreid::cluster
