// The CPU collectives backend, built on MPI because the torch wheel ships no gloo headers.
// One communication thread owns every MPI call from construction to shutdown (so MPI needs
// only MPI_THREAD_SERIALIZED, see mpi_env.h). It runs the queued collectives in the order they
// were issued (the order every rank issues them), each as a non-blocking MPI call polled with
// MPI_Test, yielding the core between polls (as OpenMPI's own blocking progress does; sleeping
// between polls starves the transfer of progress): polling drives MPI's progress while the
// caller's thread keeps computing (overlap with backward), and lets a collective that exceeds
// its timeout be noticed instead of blocking forever. On timeout the handler is called (Cluster's names the ranks that
// never joined, then exits); without one, the work fails and the group refuses further work.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "cluster/process_group.h"

namespace wildreid::cluster {

class MpiProcessGroup final : public ProcessGroup {
 public:
  // MPI must be initialised; uses a duplicate of MPI_COMM_WORLD.
  explicit MpiProcessGroup(std::chrono::milliseconds timeout);
  ~MpiProcessGroup() override;

  c10::Device device() const override { return c10::Device(c10::kCPU); }
  std::string backend_name() const override { return "mpi"; }
  void shutdown() override;
  void abort() override;

  // Called on the communication thread with a description of the collective that timed out
  // and its sequence number (1-based count of collectives issued by this rank).
  using TimeoutHandler = std::function<void(const std::string& what, int64_t sequence)>;
  void set_timeout_handler(TimeoutHandler handler);

  struct Task;

 protected:
  std::shared_ptr<CollectiveWork> do_allreduce(const at::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<CollectiveWork> do_broadcast(const at::Tensor& tensor, int root) override;
  std::vector<at::Tensor> do_allgather(const at::Tensor& tensor) override;
  void do_barrier() override;

 private:
  std::shared_ptr<CollectiveWork> enqueue(std::shared_ptr<Task> task);
  void run();
  void execute(Task& task);

  struct Communicator;      // holds the MPI_Comm, so this header needs no mpi.h
  std::unique_ptr<Communicator> comm_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool stopping_ = false;
  std::atomic<bool> aborting_{false};
  bool broken_ = false;    // a collective failed: later ones would mismatch across ranks
  std::string broken_reason_;
  int64_t sequence_ = 0;
  TimeoutHandler on_timeout_;
  std::thread thread_;
};

}  // namespace wildreid::cluster
