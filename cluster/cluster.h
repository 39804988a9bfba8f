// The distributed context of one process, started once at the top of a command:
//   MPI (when a launcher started us) -> topology -> torch threads per rank -> rank 0 opens a
//   c10d TCPStore on a free port and broadcasts host:port -> the collectives backend
//   (NCCL when CUDA is available, else our MPI CPU backend, or the single-process one)
//   -> the peer watchdog (heartbeats through the store).
// Failure semantics (README.md): a rank that stops heartbeating, reports a failure, or a
// collective that exceeds its timeout makes every other rank print a line naming the failed
// rank and _exit(kPeerFailureExitCode) within peer_timeout (+ one heartbeat interval).
// Leaving scope normally shuts down cleanly; leaving it by an exception reports the failure
// to the peers first, so they exit instead of waiting in their next collective.
#pragma once
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>

#include "cluster/process_group.h"
#include "cluster/topology.h"

namespace c10d { class Store; }

namespace wildreid::cluster {

// Exit code of a rank that stops because a peer failed (sysexits' EX_PROTOCOL).
constexpr int kPeerFailureExitCode = 76;

enum class BackendKind { kAuto, kNccl, kMpi, kSingle };
BackendKind parse_backend(const std::string& name);  // "auto" | "nccl" | "mpi" | "single"
std::string backend_name(BackendKind kind);

struct ClusterOptions {
  BackendKind backend = BackendKind::kAuto;     // auto: NCCL if CUDA is available, else MPI/single
  std::chrono::milliseconds collective_timeout{std::chrono::seconds(300)};
  std::chrono::milliseconds peer_timeout{std::chrono::seconds(30)};       // no heartbeat -> dead
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(1)};
  int threads_per_rank = 0;  // torch intra-op threads; 0 = cores in our affinity / local_size
  bool watchdog = true;                         // heartbeats + failure detection (world size > 1)
  // MPI: "auto" initialises MPI only when a launcher's environment is present (mpirun, srun);
  // "on" always (OpenMPI singleton init), "off" never (world size 1).
  std::string mpi = "auto";
};

class PeerWatchdog;
class MpiEnv;

class Cluster {
 public:
  // Starts everything above; throws std::runtime_error naming the rank and step that failed.
  // argc/argv may be null. Call once per process (MPI cannot be re-initialised).
  static std::unique_ptr<Cluster> start(const ClusterOptions& options, int* argc = nullptr,
                                        char*** argv = nullptr);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const Topology& topology() const { return topology_; }
  int rank() const { return topology_.rank; }
  int world_size() const { return topology_.world_size; }
  ProcessGroup& process_group() { return *process_group_; }
  std::shared_ptr<ProcessGroup> shared_process_group() { return process_group_; }
  c10::Device device() const { return process_group_->device(); }
  int threads() const { return threads_; }
  // "host:port" of the rendezvous store (empty for world size 1).
  const std::string& store_address() const { return store_address_; }

  // A one-way barrier around work rank 0 does alone (writing a checkpoint): rank 0 calls it when
  // done and goes on; every other rank blocks until then, or throws std::runtime_error naming
  // `what` after `timeout`. It waits on the rendezvous store, not on the collectives backend, so
  // a long write gets its own timeout instead of tripping the step collectives' (and NCCL's
  // watchdog). Every rank calls it the same number of times. No-op in a world of one.
  void wait_for_rank0(const std::string& what, std::chrono::milliseconds timeout);

  // Tells the peers this rank failed with `reason` (they print it and exit); the caller then
  // exits non-zero. Safe to call more than once and from any thread.
  void report_failure(const std::string& reason);
  // Clean end: waits until every rank has reached shutdown (so rank 0's store outlives the
  // others' use of it), stops the watchdog and the backend, finalises MPI. Idempotent.
  void shutdown();

 private:
  Cluster() = default;
  ClusterOptions options_;
  Topology topology_;
  int threads_ = 1;
  std::string store_address_;
  std::unique_ptr<MpiEnv> mpi_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::shared_ptr<ProcessGroup> process_group_;
  std::unique_ptr<PeerWatchdog> watchdog_;
  bool shut_down_ = false;
  int64_t rank0_waits_ = 0;
};

}  // namespace wildreid::cluster
