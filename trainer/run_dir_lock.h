// A run directory belongs to one trainer at a time. Two trainers on the same run.dir would both
// write config.yaml, checkpoints/ and metrics.jsonl and silently corrupt each other's resume, so
// rank 0 takes RUN/trainer.lock before anything is written and keeps it until the process ends.
//
// The lock is an flock(2) on the file, whose text names the holder (host, pid, job id, Slurm
// restart count, start time). The kernel (or the NFS/Lustre lock manager) drops an flock when
// its process dies, however it dies, so a crashed or killed trainer never blocks the next one.
// Two cases need more than that, and both must not block a requeued job from resuming:
//  - the holder's node died and the shared file system keeps its lock until a lease expires
//    (NFSv4: ~90 s): a holder with our job id and an older Slurm restart count is our own
//    previous incarnation, so its lock is broken (the file is replaced by a new one);
//  - the file system has no flock (ENOLCK, EOPNOTSUPP): the text decides: a holder on this host
//    whose pid is gone, or our previous incarnation, is stale; anyone else holds the directory.
// A file system that implements flock per node only (NFS `local_lock=flock`, Lustre
// `localflock`) cannot protect against a second trainer started on another node.
#pragma once
#include <filesystem>
#include <string>

namespace wildreid::trainer {

// Who holds (or wants) a run directory.
struct RunDirHolder {
  std::string host;       // gethostname()
  long pid = 0;
  std::string job;        // WILDREID_JOB_ID, else SLURM_JOB_ID; empty outside a scheduler
  long restart = 0;       // SLURM_RESTART_COUNT (how often the job was requeued)
  std::string since;      // UTC start time, ISO 8601

  static RunDirHolder current();     // this process
  std::string describe() const;      // "host H, pid P, Slurm job J (restart R), since T"
};

class RunDirLock {
 public:
  // Creates run_dir if needed and takes its lock, or throws std::runtime_error naming the
  // holder and the lock file. Prints one line to stderr when it takes over a stale lock.
  explicit RunDirLock(const std::filesystem::path& run_dir, RunDirHolder me = RunDirHolder::current());
  ~RunDirLock();  // removes the lock file (if it is still ours) and releases the flock
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// The lock file's name inside a run directory.
inline constexpr const char* kRunDirLockName = "trainer.lock";

}  // namespace wildreid::trainer
