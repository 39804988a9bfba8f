// The run-directory lock (trainer/run_dir_lock.h) in one process, with forked children as the
// other holders: a second taker fails naming host, pid and job; a lock whose process died does
// not block; a lock still held by a live process (a dead node's lease on a shared file system,
// simulated by a child that keeps the flock) is broken only by a later run of the same job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoints/training_state.h"  // remove_tree: libtorch's std::filesystem::remove_all crashes
#include "trainer/run_dir_lock.h"

namespace fs = std::filesystem;
using wildreid::trainer::RunDirHolder;
using wildreid::trainer::RunDirLock;

namespace {

class RunDirLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wildreid-lock-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    wildreid::checkpoints::remove_tree(dir_);
  }
  void TearDown() override {
    if (holder_ > 0) {
      kill(holder_, SIGKILL);
      waitpid(holder_, nullptr, 0);
    }
    wildreid::checkpoints::remove_tree(dir_);
  }
  static RunDirHolder me(const std::string& job, long restart) {
    RunDirHolder h = RunDirHolder::current();
    h.job = job;
    h.restart = restart;
    return h;
  }
  fs::path lock_file() const { return dir_ / wildreid::trainer::kRunDirLockName; }
  // A child process that writes `text` into the lock file, keeps its flock and sleeps.
  void start_holder(const std::string& text) {
    fs::create_directories(dir_);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    holder_ = fork();
    if (holder_ == 0) {
      const int fd = open(lock_file().c_str(), O_RDWR | O_CREAT, 0644);
      if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(fd, text.data(), text.size()) < 0) _exit(1);
      if (write(ready[1], "x", 1) != 1) _exit(1);
      pause();
      _exit(0);
    }
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
  }
  std::string holder_text(const std::string& host, pid_t pid, const std::string& job, int restart) const {
    return "host=" + host + "\npid=" + std::to_string(pid) + "\njob=" + job + "\nrestart=" + std::to_string(restart) +
           "\nsince=2026-01-01T00:00:00Z\n";
  }
  std::string error_of(const RunDirHolder& who) {
    try {
      RunDirLock lock(dir_, who);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
  pid_t holder_ = -1;
};

TEST_F(RunDirLockTest, SecondTakerFailsNamingHostPidAndJob) {
  RunDirHolder first = me("4242", 0);
  RunDirLock lock(dir_, first);
  ASSERT_TRUE(fs::exists(lock_file()));
  const std::string error = error_of(me("777", 0));
  EXPECT_NE(error.find("in use by another trainer"), std::string::npos) << error;
  EXPECT_NE(error.find("host " + first.host), std::string::npos) << error;
  EXPECT_NE(error.find("pid " + std::to_string(::getpid())), std::string::npos) << error;
  EXPECT_NE(error.find("job 4242"), std::string::npos) << error;
  EXPECT_NE(error.find(lock_file().string()), std::string::npos) << error;
}

TEST_F(RunDirLockTest, ReleasedLockIsRemovedAndCanBeRetaken) {
  { RunDirLock lock(dir_, me("1", 0)); }
  EXPECT_FALSE(fs::exists(lock_file()));
  RunDirLock again(dir_, me("2", 0));
  EXPECT_NE(std::ifstream(lock_file()).peek(), EOF);
}

TEST_F(RunDirLockTest, LockOfADeadProcessDoesNotBlock) {
  // A holder that died without cleaning up: its name is in the file, its flock is gone.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  fs::create_directories(dir_);
  std::ofstream(lock_file()) << holder_text(RunDirHolder::current().host, dead, "99", 0);
  testing::internal::CaptureStderr();
  { RunDirLock lock(dir_, me("100", 0)); }
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("taking over the run.dir lock left by"), std::string::npos) << said;
  EXPECT_NE(said.find("pid " + std::to_string(dead)), std::string::npos) << said;
}

TEST_F(RunDirLockTest, HeldLockIsBrokenOnlyByALaterRunOfTheSameJob) {
  // The flock is held (as a shared file system does for a dead node until its lease ends).
  start_holder(holder_text("node-that-died", 12345, "5150", 0));
  const std::string other_job = error_of(me("6000", 1));
  EXPECT_NE(other_job.find("host node-that-died, pid 12345, job 5150 (restart 0)"), std::string::npos) << other_job;
  const std::string same_run = error_of(me("5150", 0));  // a concurrent step of the same run
  EXPECT_NE(same_run.find("in use by another trainer"), std::string::npos) << same_run;
  const std::string no_job = error_of(me("", 0));
  EXPECT_NE(no_job.find("in use by another trainer"), std::string::npos) << no_job;

  testing::internal::CaptureStderr();
  {
    RunDirLock requeued(dir_, me("5150", 1));  // the requeued job: restart 1
    std::stringstream text;
    text << std::ifstream(lock_file()).rdbuf();
    EXPECT_NE(text.str().find("job=5150\nrestart=1"), std::string::npos) << text.str();
    // ... and now the new holder blocks everyone else, including the old job's name.
    EXPECT_NE(error_of(me("5150", 0)).find("restart 1"), std::string::npos);
  }
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("breaking the run.dir lock of host node-that-died"), std::string::npos) << said;
}

TEST_F(RunDirLockTest, HeldLockOfAGoneProcessOnThisHostIsBroken) {
  // The flock is held by a process that inherited the descriptor, the named holder is gone.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  start_holder(holder_text(RunDirHolder::current().host, dead, "", 0));
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(RunDirLock(dir_, me("", 0)));
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("its process is gone"), std::string::npos) << said;
}

TEST_F(RunDirLockTest, UnwritableRunDirIsAClearError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  try {
    RunDirLock lock(dir_ / "file" / "run", me("", 0));
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "file" / "run").string()), std::string::npos) << e.what();
  }
}

}  // namespace
