// launch/mpirun-train end to end on this host, and the run-directory lock as a user meets it:
// a second trainer started on a run.dir that a 2-rank run is using fails at once naming host, pid
// and job id, and leaves the first run alone; after the first run is killed (its lock file left
// behind) a new run takes the lock over and resumes from the killed run's checkpoint. Also the
// wrapper's option checks and the mpirun command it builds, and the launch supervisor's backstop.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "checkpoints/retention.h"
#include "tests/launch/launch_test_util.h"

using namespace wildreid::launch_testing;
using namespace std::chrono_literals;

namespace {

std::string mpirun_train() { return (source_dir() / "launch/mpirun-train").string(); }
std::string config() { return (source_dir() / "configs/tiny_cpu.yaml").string(); }

TEST(MpirunTrainCli, HelpAndBadOptionsAreClear) {
  Workspace ws("launch-cli", false);
  const fs::path out = ws.root() / "out.txt";
  EXPECT_EQ(run(mpirun_train() + " --help", out, 30s), 0);
  for (const char* option : {"--hostfile", "--ranks-per-node", "--cores-per-rank", "--metrics-port", "--run-dir",
                             "--link-timeout", "--grace", "OMP_NUM_THREADS", "NCCL_"})
    EXPECT_NE(read_text(out).find(option), std::string::npos) << option;
  fs::remove(out);
  EXPECT_EQ(run(mpirun_train() + " -n 2", out, 30s), 2);
  EXPECT_NE(read_text(out).find("--config FILE is required"), std::string::npos) << read_text(out);
  fs::remove(out);
  EXPECT_EQ(run(mpirun_train() + " --np 0 --config " + config(), out, 30s), 2);
  EXPECT_NE(read_text(out).find("--np must be a positive integer"), std::string::npos) << read_text(out);
  fs::remove(out);
  EXPECT_EQ(run(mpirun_train() + " --bogus --config " + config(), out, 30s), 2);
  EXPECT_NE(read_text(out).find("unknown option '--bogus'"), std::string::npos) << read_text(out);
  fs::remove(out);
  EXPECT_EQ(run((source_dir() / "launch/slurm/train_job.sh").string() + " " + config(), out, 30s), 2);
  EXPECT_NE(read_text(out).find("not inside a Slurm job"), std::string::npos) << read_text(out);
}

TEST(MpirunTrainCli, DryRunBuildsTheMpirunCommand) {
  Workspace ws("launch-dry", false);
  const fs::path out = ws.root() / "out.txt";
  const fs::path hosts = ws.root() / "hosts";
  std::ofstream(hosts) << "# two nodes\nnode-a slots=4\nnode-b slots=4\n";
  ASSERT_EQ(run("NCCL_SOCKET_IFNAME=ib0 " + mpirun_train() + " --dry-run --gpus none --hostfile " + hosts.string() +
                    " --cores-per-rank 1 --bind none --metrics-port 9400 --run-dir runs/x --config " + config() +
                    " -- --set train.epochs=2",
                out, 30s),
            0);
  const std::string command = read_text(out);
  for (const char* part : {"mpirun -np 8 ", "--hostfile", "--map-by ppr:4:node ", "--bind-to none",
                           "oob_tcp_keepalive_time 10", "-x NCCL_SOCKET_IFNAME", "-x OMP_NUM_THREADS",
                           "-x CUDA_DEVICE_ORDER", "-x TORCH_NCCL_ASYNC_ERROR_HANDLING",
                           "train --config", "--set run.dir=runs/x", "--set metrics.port=9400",
                           "--set run.threads=1", "--set train.epochs=2"})
    EXPECT_NE(command.find(part), std::string::npos) << part << "\n" << command;
  fs::remove(out);
  EXPECT_EQ(run(mpirun_train() + " --dry-run --gpus none -n 9 --hostfile " + hosts.string() + " --config " + config(),
                out, 30s),
            2);
  EXPECT_NE(read_text(out).find("--np 9 is more than --ranks-per-node 4 x 2 host(s)"), std::string::npos)
      << read_text(out);
}

// The backstop of launch/lib/common.sh on stand-in launchers (what mpirun or srun do when a node
// is cut off: the ranks announce their stop, the launcher keeps waiting; or the launcher reports
// the lost node with a code of its own).
TEST(LaunchSupervisor, StopsALauncherThatOutlivesItsRanksAndReportsLostNodesAs76) {
  Workspace ws("launch-supervisor", false);
  const std::string common = (source_dir() / "launch/lib/common.sh").string();
  const auto supervised = [&](const std::string& launcher) {
    return "bash -c " + quote("source " + common + "; WR_GRACE=2 wr_run_supervised bash -c " + quote(launcher) +
                              "; exit $WR_STEP_RC");
  };
  const fs::path out = ws.root() / "out.txt";
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run(supervised("echo 'wildreid rank 1: peer rank 2 stopped responding (no heartbeat for 30.0 s); "
                           "exiting with code 76'; exec sleep 300"),
                out, 60s),
            76)
      << read_text(out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  EXPECT_NE(read_text(out).find("a rank stopped with exit code 76 2 s ago but the launcher is still running"),
            std::string::npos)
      << read_text(out);
  fs::remove(out);
  EXPECT_EQ(run(supervised("echo 'ORTE has lost communication with a remote daemon.'; exit 205"), out, 60s), 76);
  EXPECT_NE(read_text(out).find("lost contact with a node (its exit code 205)"), std::string::npos) << read_text(out);
  fs::remove(out);
  EXPECT_EQ(run(supervised("exit 75"), out, 60s), 75);  // other codes pass through
  fs::remove(out);
  // A signal to the supervisor reaches the launcher as USR1 (TERM would make mpirun kill the job).
  const pid_t pid = spawn("exec " + supervised("trap 'echo got USR1; exit 75' USR1; while :; do sleep 0.1; done"), out);
  std::this_thread::sleep_for(2s);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 30s).value_or(-1), 75) << read_text(out);
  EXPECT_NE(read_text(out).find("got USR1"), std::string::npos) << read_text(out);
}

TEST(RunDirLockEndToEnd, SecondTrainerFailsAtOnceAndAKilledRunDoesNotBlockTheNext) {
  Workspace ws("launch-lock");
  const fs::path run_dir = ws.root() / "run";
  const auto sets = join_sets(tiny_train_sets(ws.shards(), {"train.micro_batch=4", "train.epochs=200",
                                                            "checkpoint.every_steps=2"}));
  const pid_t first = spawn("WILDREID_JOB_ID=first-job " + mpirun_train() + " -n 2 --gpus none --config " +
                                config() + " --run-dir " + run_dir.string() + " --" + sets,
                            ws.root() / "first.txt");
  ASSERT_TRUE(eventually([&] { return fs::exists(run_dir / "checkpoints/step-000000002"); }, 180s))
      << read_text(ws.root() / "first.txt");
  const auto ranks = find_processes("trainer", "WILDREID_JOB_ID=first-job");
  ASSERT_EQ(ranks.size(), 2u);
  const auto rank0 = find_processes("trainer", "OMPI_COMM_WORLD_RANK=0");
  pid_t holder = 0;
  for (pid_t p : rank0)
    if (std::find(ranks.begin(), ranks.end(), p) != ranks.end()) holder = p;
  ASSERT_NE(holder, 0);

  // A second trainer on the same run.dir: fails at once, naming the holder.
  const auto started = std::chrono::steady_clock::now();
  const int second = run("WILDREID_JOB_ID=second-job " + trainer() + " train --config " + config() +
                             " --set run.dir=" + run_dir.string() + sets,
                         ws.root() / "second.txt", 60s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string said = read_text(ws.root() / "second.txt");
  EXPECT_EQ(second, 1) << said;
  EXPECT_LT(seconds, 30.0) << said;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_NE(said.find("is in use by another trainer"), std::string::npos) << said;
  EXPECT_NE(said.find("host " + std::string(host) + ", pid " + std::to_string(holder) + ", job first-job"),
            std::string::npos)
      << said;
  EXPECT_FALSE(wait_exit(first, 0s).has_value()) << "the first run must keep running";

  // Kill the first run outright (no clean exit): its lock file stays behind.
  for (pid_t r : ranks) kill(r, SIGKILL);
  ASSERT_TRUE(wait_exit(first, 60s).has_value());
  kill(-first, SIGKILL);
  ASSERT_TRUE(fs::exists(run_dir / "trainer.lock"));
  const int64_t killed_at = final_step(run_dir);
  ASSERT_GE(killed_at, 2);

  // The next run (as a requeued job would) is not blocked, and resumes.
  const int third = run("WILDREID_JOB_ID=third-job " + mpirun_train() + " -n 2 --gpus none --config " + config() +
                            " --run-dir " + run_dir.string() + " --" + sets +
                            " --set train.max_steps=" + std::to_string(killed_at + 2),
                        ws.root() / "third.txt", 240s);
  const std::string third_said = read_text(ws.root() / "third.txt");
  EXPECT_EQ(third, 0) << third_said;
  EXPECT_NE(third_said.find("taking over the run.dir lock left by host " + std::string(host) + ", pid " +
                            std::to_string(holder)),
            std::string::npos)
      << third_said;
  EXPECT_NE(third_said.find("resumed from"), std::string::npos) << third_said;
  EXPECT_EQ(final_step(run_dir), killed_at + 2);
  EXPECT_FALSE(fs::exists(run_dir / "trainer.lock")) << "a clean exit removes the lock file";
}

}  // namespace
