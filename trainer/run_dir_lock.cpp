// See run_dir_lock.h. The lock file's text is "key=value" lines (host, pid, job, restart, since)
// so a user can `cat` it. Taking the lock is a loop because a concurrent starter may break a
// stale lock (unlink + new file) between our open() and flock(): we only trust a lock taken on
// the inode that the path still names.
#include "trainer/run_dir_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace wildreid::trainer {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

long to_long(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  return end && *end == '\0' ? value : 0;
}

std::string format_holder(const RunDirHolder& h) {
  std::ostringstream out;
  out << "host=" << h.host << "\npid=" << h.pid << "\njob=" << h.job << "\nrestart=" << h.restart
      << "\nsince=" << h.since << "\n";
  return out.str();
}

RunDirHolder parse_holder(const std::string& text) {
  RunDirHolder h;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host") h.host = value;
    else if (key == "pid") h.pid = to_long(value);
    else if (key == "job") h.job = value;
    else if (key == "restart") h.restart = to_long(value);
    else if (key == "since") h.since = value;
  }
  return h;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  off_t offset = 0;
  for (ssize_t n; (n = pread(fd, buffer, sizeof buffer, offset)) > 0; offset += n) text.append(buffer, n);
  return text;
}

// True while `path` still names the file open as `fd`.
bool names_same_file(int fd, const fs::path& path) {
  struct stat open_file {}, named {};
  return fstat(fd, &open_file) == 0 && stat(path.c_str(), &named) == 0 && open_file.st_dev == named.st_dev &&
         open_file.st_ino == named.st_ino;
}

bool process_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Why a holder that may still have the flock cannot be holding the directory any more; empty
// when it may be.
std::string stale_reason(const RunDirHolder& holder, const RunDirHolder& me) {
  if (!me.job.empty() && holder.job == me.job && holder.restart < me.restart)
    return "it is an earlier run (restart " + std::to_string(holder.restart) + ") of this job " + me.job;
  if (holder.host == me.host && !process_alive(holder.pid)) return "its process is gone";
  return "";
}

void write_holder(int fd, const fs::path& path, const RunDirHolder& me) {
  const std::string text = format_holder(me);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      fsync(fd) != 0)
    throw std::runtime_error(path.string() + ": cannot write the run directory lock: " + std::strerror(errno));
}

}  // namespace

RunDirHolder RunDirHolder::current() {
  RunDirHolder h;
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  h.host = name;
  h.pid = static_cast<long>(getpid());
  h.job = env("WILDREID_JOB_ID");
  if (h.job.empty()) h.job = env("SLURM_JOB_ID");
  h.restart = to_long(env("SLURM_RESTART_COUNT"));
  const std::time_t now = std::time(nullptr);
  std::tm utc {};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  h.since = stamp;
  return h;
}

std::string RunDirHolder::describe() const {
  std::string out = "host " + (host.empty() ? std::string("?") : host) + ", pid " + std::to_string(pid);
  out += job.empty() ? ", no job id" : ", job " + job + " (restart " + std::to_string(restart) + ")";
  if (!since.empty()) out += ", since " + since;
  return out;
}

RunDirLock::RunDirLock(const fs::path& run_dir, RunDirHolder me) : path_(run_dir / kRunDirLockName) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw std::runtime_error(run_dir.string() + ": cannot create run.dir: " + ec.message());
  const auto busy = [&](const RunDirHolder& holder) {
    return std::runtime_error("run.dir " + run_dir.string() + " is in use by another trainer (" + holder.describe() +
                              "; lock file " + path_.string() +
                              "). Two trainers on one run.dir overwrite each other's checkpoints: wait for it "
                              "to end, stop it, or set run.dir to another folder");
  };
  // A concurrent starter may be between creating the file and writing its name: retry ~2 s.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(path_.string() + ": cannot open the run directory lock: " + std::strerror(errno));
    const bool locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    const int error = locked ? 0 : errno;
    const bool no_flock = error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS || error == EINVAL;
    if (!locked && !no_flock && error != EWOULDBLOCK) {
      close(fd);
      throw std::runtime_error(path_.string() + ": flock failed: " + std::strerror(error));
    }
    if (!names_same_file(fd, path_)) {  // replaced by a starter that broke a stale lock: look again
      close(fd);
      continue;
    }
    const RunDirHolder holder = parse_holder(read_all(fd));
    const bool named = !holder.host.empty();
    const bool ours = holder.host == me.host && holder.pid == me.pid;
    if (locked || (no_flock && (!named || ours || !stale_reason(holder, me).empty()))) {
      if (named && !ours)
        std::fprintf(stderr, "trainer: taking over the run.dir lock left by %s (%s)\n", holder.describe().c_str(),
                     locked ? "it no longer holds it" : stale_reason(holder, me).c_str());
      if (no_flock)
        std::fprintf(stderr, "trainer: %s: the file system has no flock (%s); the lock relies on its text only\n",
                     path_.c_str(), std::strerror(error));
      try {
        write_holder(fd, path_, me);
      } catch (...) {
        close(fd);
        throw;
      }
      fd_ = fd;
      return;
    }
    if (no_flock || !named) {  // a live holder, or one that has not written its name yet
      close(fd);
      if (no_flock) throw busy(holder);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const std::string reason = stale_reason(holder, me);
    if (reason.empty()) {
      close(fd);
      throw busy(holder);
    }
    // The flock is still held (a dead node's lease on a shared file system): replace the file.
    std::fprintf(stderr, "trainer: breaking the run.dir lock of %s: %s\n", holder.describe().c_str(), reason.c_str());
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      const int unlink_error = errno;
      close(fd);
      throw std::runtime_error(path_.string() + ": cannot remove a stale lock: " + std::strerror(unlink_error));
    }
    close(fd);
  }
  throw std::runtime_error(path_.string() + ": could not take the run directory lock: it is held by a process "
                           "that never wrote its name into it");
}

RunDirLock::~RunDirLock() {
  if (fd_ < 0) return;
  if (names_same_file(fd_, path_)) unlink(path_.c_str());
  close(fd_);
}

}  // namespace wildreid::trainer
