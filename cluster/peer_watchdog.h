// Failure detection for world size > 1, through the rendezvous TCPStore (its own client
// connection, whose timeout is the peer timeout, so a frozen store cannot block it longer).
// A thread publishes this rank's heartbeat every interval as "<beat> <collectives issued>",
// reads every peer's in one multiGet, and stops the process with a line naming the rank when
//   - a peer's heartbeat has not changed for peer_timeout        ("stopped responding"),
//   - a peer published a failure report                          ("failed: <reason>"),
//   - the store itself cannot be reached (it lives in rank 0)     (rank 0 "stopped responding").
// A collective timeout (reported by the backend) is turned into the same kind of line naming
// the ranks whose issued-collective count shows they never joined. Stopping is _exit(), not
// exit(): other threads may hold locks or sit inside MPI/NCCL, and destructors could hang.
// A frozen store server (rank 0 stopped) can block a TCPStore request forever (after its wait
// times out the client waits, without a timeout, for the server to acknowledge), so every
// store request is timed by a second "guard" thread that stops the process when one has been
// pending for peer_timeout.
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace c10d { class Store; }

namespace wildreid::cluster {

struct WatchdogOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(1)};
  std::chrono::milliseconds peer_timeout{std::chrono::seconds(30)};
  int exit_code = 76;
};

// Prints "wildreid rank R: <message>; exiting with code C" to stderr and _exit(C).
[[noreturn]] void stop_process(int rank, const std::string& message, int exit_code);

class PeerWatchdog {
 public:
  // `store` must be a connection of its own. `progress` returns collectives issued so far.
  PeerWatchdog(c10::intrusive_ptr<c10d::Store> store, int rank, int size, std::string store_address,
               WatchdogOptions options, std::function<int64_t()> progress);
  ~PeerWatchdog();

  // Publishes the first heartbeat (call on every rank before a barrier, then start()).
  void publish();
  void start();
  // Stops the threads (joins). Idempotent.
  void stop();
  // Marks this rank finished: peers stop expecting its heartbeat and this rank stops
  // publishing (rank 0 keeps reading the peers until wait_until_all_done()).
  void mark_done();
  // Rank 0 at shutdown: waits (watching) until every rank has marked itself done.
  void wait_until_all_done();
  // Publishes a failure report for the peers (first report wins). Never throws.
  void report_failure(const std::string& reason);
  // From the backend: a collective timed out. Names the ranks behind, then stops the process.
  [[noreturn]] void collective_timed_out(const std::string& what, int64_t sequence);

 private:
  void run();
  void guard();
  void check_once();   // one heartbeat round; stops the process on a failure
  // Runs one store request with the guard watching it.
  template <typename F>
  auto guarded(F&& request) -> decltype(request());
  std::string heartbeat_key(int r) const;

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, size_;
  std::string store_address_;
  WatchdogOptions options_;
  std::function<int64_t()> progress_;
  int64_t beat_ = 0;
  std::vector<std::string> last_value_;
  std::vector<std::chrono::steady_clock::time_point> last_change_;
  std::vector<std::string> latest_;     // latest values seen, for collective_timed_out
  std::mutex mutex_;                    // guards the store client and the tables
  std::condition_variable wake_;
  bool stopping_ = false;
  bool done_ = false;
  std::atomic<int64_t> request_started_ns_{0};   // 0: no store request pending
  std::atomic<bool> guard_stop_{false};
  std::thread thread_;
  std::thread guard_thread_;
};

}  // namespace wildreid::cluster
