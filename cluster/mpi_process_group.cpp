// See mpi_process_group.h. Averages are computed as a sum then a division on the
// communication thread; 16-bit floats are reduced in float32 (MPI has no sum for them).
#include "cluster/mpi_process_group.h"
#include "cluster/error_text.h"

#include <ATen/ATen.h>
// The C API only: OpenMPI's mpi.h would otherwise pull in its deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

namespace wildreid::cluster {

struct MpiProcessGroup::Communicator {
  MPI_Comm comm = MPI_COMM_NULL;
};

struct MpiProcessGroup::Task final : CollectiveWork {
  enum class Kind { kAllreduce, kBroadcast, kAllgather, kBarrier } kind;
  at::Tensor tensor;        // in/out (allreduce, broadcast), input (allgather)
  at::Tensor output;        // allgather: [size, ...tensor.shape]
  ReduceOp op = ReduceOp::kSum;
  int root = 0;
  int64_t sequence = 0;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::string error;

  std::string describe() const {
    static const char* names[] = {"allreduce", "broadcast", "allgather", "barrier"};
    std::ostringstream s;
    s << "collective #" << sequence << " (" << names[static_cast<int>(kind)];
    if (tensor.defined()) s << " of " << tensor.numel() << " " << tensor.scalar_type();
    s << ")";
    return s.str();
  }
  void finish(std::string failure) {
    std::lock_guard<std::mutex> lock(mutex);
    error = std::move(failure);
    done = true;
    cv.notify_all();
  }
  void wait() override {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return done; });
    if (!error.empty()) throw CollectiveError(error);
  }
  bool is_completed() override {
    std::lock_guard<std::mutex> lock(mutex);
    return done;
  }
};

namespace {

// MPI counts are int: buffers are sent in pieces of at most this many bytes.
constexpr int64_t kChunkBytes = 256LL << 20;
constexpr int kSpinPolls = 256;                          // yield-polls before sleeping
constexpr std::chrono::microseconds kBackoffSleep{50};  // sleep between later polls

MPI_Datatype mpi_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kShort: return MPI_INT16_T;
    case at::kChar: return MPI_INT8_T;
    case at::kByte: return MPI_UINT8_T;
    default: return MPI_DATATYPE_NULL;
  }
}

std::string mpi_error(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, len);
}

}  // namespace

MpiProcessGroup::MpiProcessGroup(std::chrono::milliseconds timeout)
    : ProcessGroup(
          [] { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }(),
          [] { int n = 1; MPI_Comm_size(MPI_COMM_WORLD, &n); return n; }(), timeout),
      comm_(std::make_unique<Communicator>()) {
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm_->comm);
  if (rc != MPI_SUCCESS) throw CollectiveError("MPI_Comm_dup failed: " + mpi_error(rc));
  MPI_Comm_set_errhandler(comm_->comm, MPI_ERRORS_RETURN);
  thread_ = std::thread([this] { run(); });
}

MpiProcessGroup::~MpiProcessGroup() { shutdown(); }

void MpiProcessGroup::set_timeout_handler(TimeoutHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_timeout_ = std::move(handler);
}

std::shared_ptr<CollectiveWork> MpiProcessGroup::enqueue(std::shared_ptr<Task> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task->sequence = ++sequence_;
    if (stopping_) {
      task->done = true;
      task->error = "rank " + std::to_string(rank()) + ": " + task->describe() +
                    " issued after the MPI process group was shut down";
      throw CollectiveError(task->error);
    }
    if (broken_) {
      throw CollectiveError("rank " + std::to_string(rank()) + ": " + task->describe() +
                            " refused: an earlier collective failed (" + broken_reason_ + ")");
    }
    queue_.push_back(task);
  }
  wake_.notify_one();
  return task;
}

std::shared_ptr<CollectiveWork> MpiProcessGroup::do_allreduce(const at::Tensor& tensor,
                                                              ReduceOp op) {
  if (op == ReduceOp::kAvg && !at::isFloatingType(tensor.scalar_type()))
    throw std::invalid_argument("allreduce: average of a " +
                                std::string(c10::toString(tensor.scalar_type())) +
                                " tensor; use kSum for integers");
  auto task = std::make_shared<Task>();
  task->kind = Task::Kind::kAllreduce;
  task->tensor = tensor;
  task->op = op;
  return enqueue(task);
}

std::shared_ptr<CollectiveWork> MpiProcessGroup::do_broadcast(const at::Tensor& tensor,
                                                              int root) {
  auto task = std::make_shared<Task>();
  task->kind = Task::Kind::kBroadcast;
  task->tensor = tensor;
  task->root = root;
  return enqueue(task);
}

std::vector<at::Tensor> MpiProcessGroup::do_allgather(const at::Tensor& tensor) {
  auto task = std::make_shared<Task>();
  task->kind = Task::Kind::kAllgather;
  task->tensor = tensor;
  std::vector<int64_t> shape{size()};
  for (auto d : tensor.sizes()) shape.push_back(d);
  task->output = at::empty(shape, tensor.options());
  enqueue(task)->wait();
  return task->output.unbind(0);
}

void MpiProcessGroup::do_barrier() {
  auto task = std::make_shared<Task>();
  task->kind = Task::Kind::kBarrier;
  enqueue(task)->wait();
}

void MpiProcessGroup::run() {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || aborting_ || !queue_.empty(); });
      if (aborting_ || (stopping_ && queue_.empty())) break;
      task = queue_.front();
      queue_.pop_front();
    }
    execute(*task);
  }
  std::deque<std::shared_ptr<Task>> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(queue_);
  }
  for (auto& t : left) t->finish("rank " + std::to_string(rank()) + ": " + t->describe() +
                                 " dropped: the MPI process group was aborted");
  if (!aborting_ && !broken_ && comm_->comm != MPI_COMM_NULL) MPI_Comm_free(&comm_->comm);
}

void MpiProcessGroup::execute(Task& task) {
  MPI_Comm comm = comm_->comm;
  at::Tensor work = task.tensor;
  const auto deadline = std::chrono::steady_clock::now() + timeout();
  // Waits for one request, driving MPI's progress; the only place a collective can time out.
  // Polls spin briefly (a small allreduce completes in microseconds), then back off to short
  // sleeps so a long wait does not take a core from the rank's compute threads.
  auto wait_for = [&](MPI_Request& request) {
    int flag = 0;
    for (int polls = 0;; ++polls) {
      int rc = MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) throw CollectiveError("MPI_Test failed: " + mpi_error(rc));
      if (flag) return;
      if (aborting_) throw CollectiveError("aborted while waiting");
      if (polls < kSpinPolls) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(kBackoffSleep);
      }
      if (timeout().count() > 0 && std::chrono::steady_clock::now() > deadline) {
        TimeoutHandler handler;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          handler = on_timeout_;
        }
        char limit[32];
        std::snprintf(limit, sizeof limit, "%.1f s", timeout().count() / 1000.0);
        std::string what = task.describe() + " timed out after " + limit;
        if (handler) handler(what, task.sequence);
        throw CollectiveError(what);
      }
    }
  };
  auto check = [](int rc, const char* call) {
    if (rc != MPI_SUCCESS) throw CollectiveError(std::string(call) + " failed: " + mpi_error(rc));
  };
  try {
    MPI_Request request = MPI_REQUEST_NULL;
    switch (task.kind) {
      case Task::Kind::kAllreduce: {
        if (mpi_type(work.scalar_type()) == MPI_DATATYPE_NULL) work = work.to(at::kFloat);
        MPI_Datatype type = mpi_type(work.scalar_type());
        if (type == MPI_DATATYPE_NULL)
          throw CollectiveError("allreduce: unsupported dtype " +
                                std::string(c10::toString(task.tensor.scalar_type())));
        const int64_t element = static_cast<int64_t>(work.element_size());
        const int64_t chunk = std::max<int64_t>(1, kChunkBytes / element);
        auto* base = static_cast<char*>(work.data_ptr());
        for (int64_t first = 0; first < work.numel(); first += chunk) {
          int count = static_cast<int>(std::min(chunk, work.numel() - first));
          check(MPI_Iallreduce(MPI_IN_PLACE, base + first * element, count, type, MPI_SUM, comm,
                               &request),
                "MPI_Iallreduce");
          wait_for(request);
        }
        if (task.op == ReduceOp::kAvg) work.div_(size());
        if (!work.is_same(task.tensor)) task.tensor.copy_(work);
        break;
      }
      case Task::Kind::kBroadcast: {
        auto* base = static_cast<char*>(work.data_ptr());
        const int64_t total = static_cast<int64_t>(work.nbytes());
        for (int64_t first = 0; first < total; first += kChunkBytes) {
          int count = static_cast<int>(std::min<int64_t>(kChunkBytes, total - first));
          check(MPI_Ibcast(base + first, count, MPI_BYTE, task.root, comm, &request),
                "MPI_Ibcast");
          wait_for(request);
        }
        break;
      }
      case Task::Kind::kAllgather:
        check(MPI_Iallgather(work.data_ptr(), static_cast<int>(work.nbytes()), MPI_BYTE,
                             task.output.data_ptr(), static_cast<int>(work.nbytes()), MPI_BYTE,
                             comm, &request),
              "MPI_Iallgather");
        wait_for(request);
        break;
      case Task::Kind::kBarrier:
        check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
        wait_for(request);
        break;
    }
    task.finish("");
  } catch (const std::exception& e) {
    std::string why =
        "rank " + std::to_string(rank()) + ": " + task.describe() + ": " + error_text(e);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      broken_ = true;
      broken_reason_ = why;
    }
    task.finish(why);
  }
}

void MpiProcessGroup::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MpiProcessGroup::abort() {
  aborting_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace wildreid::cluster
