// See cluster.h. The order of start() matters for MPI_THREAD_SERIALIZED: every main-thread
// MPI call (topology, address broadcast, host names, the barrier after the first heartbeats)
// happens before the MPI backend's communication thread starts, and MPI_Finalize after it ends.
#include "cluster/cluster.h"
#include "cluster/error_text.h"

#include <ATen/Parallel.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>

#include "cluster/mpi_env.h"
#include "cluster/mpi_process_group.h"
#include "cluster/nccl_process_group.h"
#include "cluster/peer_watchdog.h"
#include "cluster/rendezvous_store.h"
#include "cluster/single_process_group.h"

namespace wildreid::cluster {

BackendKind parse_backend(const std::string& name) {
  if (name == "auto") return BackendKind::kAuto;
  if (name == "nccl") return BackendKind::kNccl;
  if (name == "mpi") return BackendKind::kMpi;
  if (name == "single") return BackendKind::kSingle;
  throw std::invalid_argument("unknown collectives backend '" + name +
                              "' (expected auto, nccl, mpi or single)");
}

std::string backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto: return "auto";
    case BackendKind::kNccl: return "nccl";
    case BackendKind::kMpi: return "mpi";
    case BackendKind::kSingle: return "single";
  }
  return "?";
}

namespace {

bool want_mpi(const std::string& mode) {
  if (mode == "on") return true;
  if (mode == "off") return false;
  if (mode == "auto") return launched_by_mpi_launcher();
  throw std::invalid_argument("mpi mode '" + mode + "' (expected auto, on or off)");
}

// Cores this process may run on (its affinity mask: a launcher's binding or a cpuset),
// falling back to the online count.
int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string host_name() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace

std::unique_ptr<Cluster> Cluster::start(const ClusterOptions& options, int* argc, char*** argv) {
  std::unique_ptr<Cluster> c(new Cluster());
  c->options_ = options;
  if (want_mpi(options.mpi)) {
    c->mpi_ = MpiEnv::init(argc, argv);
    c->topology_ = c->mpi_->topology();
  } else {
    c->topology_.node_name = host_name();
  }
  const Topology& t = c->topology_;
  const std::string who = "rank " + std::to_string(t.rank);

  c->threads_ = options.threads_per_rank > 0
                    ? options.threads_per_rank
                    : std::max(1, usable_cores() / std::max(1, t.local_size));
  at::set_num_threads(c->threads_);

  BackendKind kind = options.backend;
  if (kind == BackendKind::kAuto)
    kind = cuda_available() ? BackendKind::kNccl
                            : (c->mpi_ ? BackendKind::kMpi : BackendKind::kSingle);
  if (kind == BackendKind::kMpi && !c->mpi_)
    throw std::runtime_error(who + ": the mpi backend needs MPI; start under mpirun/srun "
                                   "or set the MPI mode to 'on'");
  if (kind == BackendKind::kSingle && t.world_size > 1)
    throw std::runtime_error(who + ": the single backend cannot run a world of " +
                             std::to_string(t.world_size) + " ranks");

  // Rendezvous store: needed by NCCL and by the watchdog.
  const bool need_store = kind == BackendKind::kNccl || t.world_size > 1;
  StoreEndpoint endpoint;
  if (need_store) {
    bool single_node = true;
    if (c->mpi_) {
      auto nodes = c->mpi_->allgather_strings(t.node_name);
      single_node = std::all_of(nodes.begin(), nodes.end(),
                                [&](const std::string& n) { return n == nodes[0]; });
    }
    std::string address;
    std::string error;
    if (t.rank == 0) {
      try {
        endpoint.host = choose_store_host(t, single_node);
        c->store_ = open_store_server(endpoint, t.world_size, options.collective_timeout);
        address = endpoint.address();
      } catch (const std::exception& e) {
        error = error_text(e);
      }
    }
    if (c->mpi_ && t.world_size > 1) {
      // An empty address tells the other ranks that rank 0 failed, so nobody waits.
      address = c->mpi_->broadcast_string(address, 0);
    }
    if (address.empty())
      throw std::runtime_error(t.rank == 0 ? error
                                           : who + ": rank 0 could not open the rendezvous store");
    endpoint = StoreEndpoint::parse(address);
    if (t.rank != 0) c->store_ = connect_store(endpoint, options.collective_timeout);
    c->store_address_ = address;
  }

  // Watchdog: first heartbeats and a barrier before any MPI thread exists.
  if (options.watchdog && t.world_size > 1) {
    WatchdogOptions w;
    w.interval = options.heartbeat_interval;
    w.peer_timeout = options.peer_timeout;
    w.exit_code = kPeerFailureExitCode;
    Cluster* self = c.get();
    c->watchdog_ = std::make_unique<PeerWatchdog>(
        connect_store(endpoint, options.peer_timeout), t.rank, t.world_size, c->store_address_,
        w, [self] {
          auto group = self->process_group_;
          return group ? group->collectives_issued() : int64_t{0};
        });
    c->watchdog_->publish();
  }
  if (c->mpi_ && t.world_size > 1) c->mpi_->barrier();

  switch (kind) {
    case BackendKind::kNccl:
      c->process_group_ = make_nccl_process_group(c->store_, t.rank, t.world_size, t.local_rank,
                                                  t.local_size, options.collective_timeout);
      break;
    case BackendKind::kMpi: {
      auto group = std::make_shared<MpiProcessGroup>(options.collective_timeout);
      if (c->watchdog_) {
        PeerWatchdog* dog = c->watchdog_.get();
        group->set_timeout_handler([dog](const std::string& what, int64_t sequence) {
          dog->collective_timed_out(what, sequence);
        });
      }
      c->process_group_ = group;
      break;
    }
    default:
      c->process_group_ = std::make_shared<SingleProcessGroup>();
  }
  if (c->watchdog_) c->watchdog_->start();
  return c;
}

void Cluster::wait_for_rank0(const std::string& what, std::chrono::milliseconds timeout) {
  if (topology_.world_size <= 1 || !store_) return;
  const std::string key = "wildreid/rank0_done/" + std::to_string(++rank0_waits_);
  if (topology_.rank == 0) {
    store_->set(key, std::vector<uint8_t>{1});
    return;
  }
  try {
    store_->wait({key}, timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(topology_.rank) + ": rank 0 did not finish " + what +
                             " within " + std::to_string(timeout.count() / 1000) + " s: " + error_text(e));
  }
}

void Cluster::report_failure(const std::string& reason) {
  if (watchdog_) watchdog_->report_failure(reason);
}

void Cluster::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Drains the queued collectives (a dead peer is caught by the watchdog meanwhile).
  if (process_group_) process_group_->shutdown();
  if (watchdog_) {
    if (topology_.rank == 0) {
      // The store lives in this process: keep it (and watching) until every rank is done.
      watchdog_->mark_done();
      watchdog_->wait_until_all_done();
      watchdog_->stop();
    } else {
      watchdog_->mark_done();  // the heartbeat thread goes quiet; the guard times the request
      watchdog_->stop();
    }
    watchdog_.reset();
  }
  store_.reset();
  if (mpi_) mpi_->finalize();
}

Cluster::~Cluster() {
  if (shut_down_) return;
  if (std::uncaught_exceptions() == 0) {
    try {
      shutdown();
    } catch (const std::exception& e) {
      stop_process(topology_.rank, std::string("clean shutdown failed: ") + error_text(e),
                   kPeerFailureExitCode);
    }
    return;
  }
  // Leaving by an exception: tell the peers, drop outstanding work, never finalise MPI (the
  // peers are not going to meet us there). The launcher sees our non-zero exit.
  shut_down_ = true;
  if (watchdog_) {
    watchdog_->report_failure("rank " + std::to_string(topology_.rank) +
                              " stopped on an exception (see its log)");
    watchdog_->stop();
    // Rank 0 serves the store: give the peers a heartbeat round to read the report.
    if (topology_.rank == 0) std::this_thread::sleep_for(2 * options_.heartbeat_interval);
  }
  if (process_group_) process_group_->abort();
  if (mpi_) mpi_->abandon();
}

}  // namespace wildreid::cluster
