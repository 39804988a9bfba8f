// See peer_watchdog.h.
#include "cluster/peer_watchdog.h"
#include "cluster/error_text.h"

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace wildreid::cluster {
namespace {
const char* kFailureKey = "wildreid/failure";

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

std::string seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s",
                std::chrono::duration_cast<std::chrono::duration<double>>(d).count());
  return buf;
}
}  // namespace

void stop_process(int rank, const std::string& message, int exit_code) {
  std::fprintf(stderr, "wildreid rank %d: %s; exiting with code %d\n", rank, message.c_str(),
               exit_code);
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(exit_code);
}

PeerWatchdog::PeerWatchdog(c10::intrusive_ptr<c10d::Store> store, int rank, int size,
                           std::string store_address, WatchdogOptions options,
                           std::function<int64_t()> progress)
    : store_(std::move(store)), rank_(rank), size_(size),
      store_address_(std::move(store_address)), options_(options),
      progress_(std::move(progress)), last_value_(size), last_change_(size), latest_(size) {
  store_->setTimeout(options_.peer_timeout);
}

PeerWatchdog::~PeerWatchdog() { stop(); }

std::string PeerWatchdog::heartbeat_key(int r) const {
  return "wildreid/heartbeat/" + std::to_string(r);
}

template <typename F>
auto PeerWatchdog::guarded(F&& request) -> decltype(request()) {
  struct Clear {
    std::atomic<int64_t>& started;
    ~Clear() { started = 0; }
  } clear{request_started_ns_};
  request_started_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
  return request();
}

void PeerWatchdog::publish() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string beat = std::to_string(++beat_) + " " + std::to_string(progress_ ? progress_() : 0);
  guarded([&] { store_->set(heartbeat_key(rank_), bytes(beat)); });
}

void PeerWatchdog::start() {
  auto now = std::chrono::steady_clock::now();
  for (int r = 0; r < size_; ++r) last_change_[r] = now;
  thread_ = std::thread([this] { run(); });
  guard_thread_ = std::thread([this] { guard(); });
}

void PeerWatchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();  // the guard still watches its last request
  guard_stop_ = true;
  if (guard_thread_.joinable()) guard_thread_.join();
}

void PeerWatchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    check_once();
    lock.lock();
  }
}

// Does not take mutex_: the request it watches holds it.
void PeerWatchdog::guard() {
  const auto step = std::min<std::chrono::milliseconds>(options_.interval,
                                                         std::chrono::milliseconds(500));
  while (!guard_stop_.load()) {
    std::this_thread::sleep_for(step);
    int64_t started = request_started_ns_.load();
    if (started == 0) continue;
    auto pending = std::chrono::steady_clock::now().time_since_epoch() -
                   std::chrono::steady_clock::duration(started);
    if (pending > options_.peer_timeout)
      stop_process(rank_,
                   std::string(rank_ == 0 ? "this rank's own" : "peer rank 0 stopped responding (") +
                       " rendezvous store at " + store_address_ + " has not answered for " +
                       seconds(pending) + (rank_ == 0 ? "" : ")"),
                   options_.exit_code);
  }
}

void PeerWatchdog::check_once() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (done_ && rank_ != 0) return;  // finished: rank 0 may already have closed the store
  std::vector<std::string> keys;
  for (int r = 0; r < size_; ++r) keys.push_back(heartbeat_key(r));
  std::vector<std::vector<uint8_t>> values;
  try {
    if (!done_) {
      std::string beat =
          std::to_string(++beat_) + " " + std::to_string(progress_ ? progress_() : 0);
      guarded([&] { store_->set(heartbeat_key(rank_), bytes(beat)); });
    }
    values = guarded([&] { return store_->multiGet(keys); });
    if (guarded([&] { return store_->check({kFailureKey}); })) {
      std::string report = text(guarded([&] { return store_->get(kFailureKey); }));
      auto tab = report.find('\t');
      std::string who = report.substr(0, tab);
      std::string why = tab == std::string::npos ? "" : report.substr(tab + 1);
      if (who != std::to_string(rank_))
        stop_process(rank_, "peer rank " + who + " failed: " + why, options_.exit_code);
    }
  } catch (const std::exception& e) {
    if (rank_ == 0) return;  // our own store: a client hiccup, peers are checked next round
    stop_process(rank_,
                 "peer rank 0 stopped responding (rendezvous store at " + store_address_ +
                     " unreachable: " + error_text(e) + ")",
                 options_.exit_code);
  }
  auto now = std::chrono::steady_clock::now();
  for (int r = 0; r < size_; ++r) {
    std::string v = text(values[r]);
    latest_[r] = v;
    if (r == rank_ || v == "done") continue;
    if (v != last_value_[r]) {
      last_value_[r] = v;
      last_change_[r] = now;
    } else if (now - last_change_[r] > options_.peer_timeout) {
      stop_process(rank_, "peer rank " + std::to_string(r) +
                              " stopped responding (no heartbeat for " +
                              seconds(now - last_change_[r]) + ")",
                   options_.exit_code);
    }
  }
}

void PeerWatchdog::mark_done() {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  try {
    guarded([&] { store_->set(heartbeat_key(rank_), bytes("done")); });
  } catch (const std::exception&) {
    // Rank 0 (the store) is gone; nothing left to tell.
  }
}

void PeerWatchdog::wait_until_all_done() {
  for (;;) {
    bool all = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (int r = 0; r < size_; ++r)
        if (r != rank_ && latest_[r] != "done") all = false;
    }
    if (all) return;
    if (!thread_.joinable()) check_once();  // no thread running: poll ourselves
    std::this_thread::sleep_for(options_.interval / 4);
  }
}

void PeerWatchdog::report_failure(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    guarded([&] {
      store_->compareSet(kFailureKey, {}, bytes(std::to_string(rank_) + "\t" + reason));
    });
  } catch (const std::exception&) {
    // The store is gone (rank 0 died): the peers' watchdogs notice that by themselves.
  }
}

void PeerWatchdog::collective_timed_out(const std::string& what, int64_t sequence) {
  std::ostringstream behind;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      std::istringstream in(latest_[r]);
      int64_t beat = 0, issued = -1;
      in >> beat >> issued;
      if (issued >= 0 && issued < sequence) behind << (behind.tellp() > 0 ? "," : "") << r;
    }
  }
  std::string names = behind.str();
  std::string message = what + (names.empty() ? "; every peer issued it (a transport failure)"
                                              : "; peer rank " + names + " never joined it");
  report_failure("rank " + std::to_string(rank_) + ": " + message);
  stop_process(rank_, message, options_.exit_code);
}

}  // namespace wildreid::cluster
