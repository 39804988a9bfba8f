// Multi-node runs simulated on one machine (sim_nodes.sh): two "nodes", each a network namespace
// with its own hostname (UTS namespace) and an address in 198.18.0.0/15, joined by a bridge.
// OpenMPI reaches them through an rsh agent that enters the namespace (netns_rsh.sh); Slurm
// runs one slurmd inside each (local_slurm.sh), with slurmctld in the root namespace.
//  - 2 nodes x 2 ranks give the weights of 1 node x 4 ranks; the gathered Prometheus targets
//    name each rank's node and base port + local rank, and every exporter labels its metrics
//    with its own node, rank and local rank;
//  - killing every rank of one node ends the job within 60 s;
//  - a node cut off from the network (link down) ends the job within 120 s: the ranks stop
//    through the peer watchdog and launch/ makes mpirun (or the batch script) return;
//  - the same under Slurm across the two slurmd nodes (srun; mpirun inside the allocation for the
//    killed node).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/launch/launch_test_util.h"

using namespace wildreid::launch_testing;
using namespace std::chrono_literals;

namespace {

constexpr int kMetricsPort = 19410;

class MultiNode : public ::testing::Test {
 protected:
  void start(const std::string& name, const std::string& prefix, int net) {
    if (geteuid() != 0) GTEST_SKIP() << "simulated nodes need network namespaces: run as root (CI does)";
    ws_ = std::make_unique<Workspace>(name);
    nodes_ = std::make_unique<SimNodes>(prefix, net, 2);
    hostfile_ = ws_->root() / "hosts";
    std::ofstream(hostfile_) << nodes_->node(1) << " slots=2\n" << nodes_->node(2) << " slots=2\n";
  }
  void start_slurm(int port) {
    if (system("command -v slurmctld > /dev/null && command -v munged > /dev/null") != 0)
      GTEST_SKIP() << "slurm-wlm / munge are not installed (scripts/setup installs them)";
    slurm_ = std::make_unique<SlurmCluster>(ws_->root() / "slurm", port, nodes_->spec());
  }
  std::string config() const { return (source_dir() / "configs/tiny_cpu.yaml").string(); }
  // mpirun-train across the two nodes (2 ranks each).
  std::string two_nodes(const fs::path& run_dir, const std::vector<std::string>& sets) const {
    return (source_dir() / "launch/mpirun-train").string() + " --hostfile " + hostfile_.string() +
           " --gpus none --cores-per-rank 1 --mca plm_rsh_agent " +
           (source_dir() / "tests/launch/netns_rsh.sh").string() + " --mca oob_tcp_if_include " + nodes_->subnet() +
           " --mca btl_tcp_if_include " + nodes_->subnet() + " --metrics-port " + std::to_string(kMetricsPort) +
           " --config " + config() + " --run-dir " + run_dir.string() + " --" +
           join_sets(tiny_train_sets(ws_->shards(), sets));
  }
  std::string one_node(const fs::path& run_dir, const std::vector<std::string>& sets) const {
    return (source_dir() / "launch/mpirun-train").string() + " -n 4 --gpus none --config " + config() +
           " --run-dir " + run_dir.string() + " --" + join_sets(tiny_train_sets(ws_->shards(), sets));
  }
  std::string sbatch_two_nodes(const std::string& name, const std::vector<std::string>& sets,
                               const std::string& job_options = "") const {
    return slurm_->sbatch("--chdir=" + ws_->root().string() + " --output=" + (ws_->root() / "%x-%j.out").string() +
                          " --job-name=" + name + " --nodes=2 --ntasks-per-node=2 --gpus-per-node=2 "
                          "--cpus-per-task=1 " + (source_dir() / "launch/slurm/train_nodes.sbatch").string() + " " +
                          job_options + " " + config() + join_sets(tiny_train_sets(ws_->shards(), sets)));
  }
  // The prometheus targets file: rank -> "host:port".
  std::map<int, std::string> targets(const fs::path& run_dir) const {
    std::map<int, std::string> out;
    const std::string text = read_text(run_dir / "prometheus_targets.json");
    if (text.empty()) return out;
    for (const auto& group : nlohmann::json::parse(text))
      out[std::stoi(group["labels"]["rank"].get<std::string>())] = group["targets"][0];
    return out;
  }
  // Ranks 0,1 on node 1 and 2,3 on node 2, each serving base port + local rank.
  void expect_targets_per_node(const fs::path& run_dir) const {
    const auto t = targets(run_dir);
    ASSERT_EQ(t.size(), 4u) << read_text(run_dir / "prometheus_targets.json");
    for (int rank = 0; rank < 4; ++rank)
      EXPECT_EQ(t.at(rank), nodes_->node(rank / 2 + 1) + ":" + std::to_string(kMetricsPort + rank % 2)) << rank;
  }
  // Starts a long 2x2 run and waits for its step-2 checkpoint; returns the launcher's pid.
  pid_t start_long_run(const fs::path& run_dir, const fs::path& log) {
    const pid_t pid = spawn(two_nodes(run_dir, {"train.micro_batch=2", "train.epochs=200", "checkpoint.every_steps=2"}),
                            log);
    EXPECT_TRUE(eventually([&] { return fs::exists(run_dir / "checkpoints/step-000000002"); }, 240s)) << read_text(log);
    return pid;
  }
  // Submits a long 2x2 job and waits for its step-2 checkpoint.
  struct SlurmRun {
    std::string job;
    fs::path run_dir, log;
  };
  SlurmRun start_long_slurm_job(const std::string& name, const std::string& job_options = "") {
    SlurmRun r;
    r.job = sbatch_two_nodes(name, {"train.micro_batch=2", "train.epochs=200", "checkpoint.every_steps=2"},
                             job_options);
    r.run_dir = ws_->root() / "runs" / (name + "-" + r.job);
    r.log = ws_->root() / (name + "-" + r.job + ".out");
    EXPECT_TRUE(eventually([&] { return fs::exists(r.run_dir / "checkpoints/step-000000002"); }, 240s))
        << read_text(r.log);
    return r;
  }
  // True once no trainer runs on either node, waiting until `deadline`.
  bool ranks_gone_by(std::chrono::steady_clock::time_point deadline) const {
    return eventually([&] { return find_processes("trainer", "", nodes_->node(1)).empty() &&
                                   find_processes("trainer", "", nodes_->node(2)).empty(); },
                      deadline - std::chrono::steady_clock::now());
  }
  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<SimNodes> nodes_;
  std::unique_ptr<SlurmCluster> slurm_;
  fs::path hostfile_;
};

const std::vector<std::string> kShortRun = {"train.micro_batch=2", "train.max_steps=4", "metrics.linger_s=10"};

TEST_F(MultiNode, TwoNodesOfTwoRanksMatchOneNodeOfFourWithPerNodeLocalRanksAndLabels) {
  start("multinode-equal", "wrma", 41);
  const fs::path two = ws_->root() / "two-nodes", one = ws_->root() / "one-node";
  const pid_t pid = spawn(two_nodes(two, kShortRun), ws_->root() / "two.txt");
  // While the exporters are up (they linger 10 s after the last step), scrape every rank.
  ASSERT_TRUE(eventually([&] { return targets(two).size() == 4; }, 240s)) << read_text(ws_->root() / "two.txt");
  expect_targets_per_node(two);
  for (const auto& [rank, target] : targets(two)) {
    const int node = rank / 2 + 1, local_rank = rank % 2;
    std::string metrics;
    ASSERT_TRUE(eventually([&] { return !(metrics = nodes_->scrape(node, kMetricsPort + local_rank)).empty(); }, 30s));
    const std::string labels = "local_rank=\"" + std::to_string(local_rank) + "\",node=\"" + nodes_->node(node) +
                               "\",rank=\"" + std::to_string(rank) + "\"";
    EXPECT_NE(metrics.find(labels), std::string::npos) << labels << "\n" << metrics.substr(0, 2000);
  }
  const auto code = wait_exit(pid, 240s);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << read_text(ws_->root() / "two.txt");
  ASSERT_EQ(run(one_node(one, {"train.micro_batch=2", "train.max_steps=4"}), ws_->root() / "one.txt", 240s), 0)
      << read_text(ws_->root() / "one.txt");
  EXPECT_EQ(final_step(two), 4);
  EXPECT_EQ(final_step(one), 4);
  EXPECT_LE(max_abs_diff(final_weights(two), final_weights(one)), 1e-5);
}

TEST_F(MultiNode, KillingEveryRankOfOneNodeEndsTheJobWithin60Seconds) {
  start("multinode-kill", "wrmb", 42);
  const fs::path log = ws_->root() / "run.txt";
  const pid_t pid = start_long_run(ws_->root() / "run", log);
  const auto ranks = find_processes("trainer", "", nodes_->node(2) + "");
  ASSERT_EQ(ranks.size(), 2u);
  const auto killed_at = std::chrono::steady_clock::now();
  for (pid_t rank : ranks) kill(rank, SIGKILL);
  const auto code = wait_exit(pid, 90s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  ASSERT_TRUE(code.has_value()) << read_text(log);
  EXPECT_NE(*code, 0);
  EXPECT_LE(seconds, 60.0) << read_text(log);
  std::printf("mpirun-train returned %.1f s after the kill, exit code %d\n", seconds, *code);
  EXPECT_TRUE(ranks_gone_by(killed_at + 60s)) << "node 1's ranks outlived the job";
}

TEST_F(MultiNode, NodeCutOffFromTheNetworkEndsTheJobWithin120Seconds) {
  start("multinode-cut", "wrmc", 43);
  const fs::path log = ws_->root() / "run.txt";
  const pid_t pid = start_long_run(ws_->root() / "run", log);
  const auto cut_at = std::chrono::steady_clock::now();
  nodes_->cut(2);
  const auto code = wait_exit(pid, 150s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cut_at).count();
  const std::string said = read_text(log);
  ASSERT_TRUE(code.has_value()) << said;
  EXPECT_NE(*code, 0) << said;
  EXPECT_LE(seconds, 120.0) << said;
  EXPECT_EQ(*code, 76) << said;  // reported as a peer failure, whichever side noticed first
  // mpirun notices through its keepalives, or the ranks through their watchdog.
  EXPECT_TRUE(said.find("lost contact with a node") != std::string::npos ||
              said.find("stopped responding") != std::string::npos)
      << said;
  std::printf("mpirun-train returned %.1f s after the link went down, exit code %d\n", seconds, *code);
  // Every rank on both sides is gone within the watchdog's bound (30 s + a heartbeat).
  EXPECT_TRUE(ranks_gone_by(cut_at + 60s)) << "ranks still running 60 s after the cut";
}

TEST_F(MultiNode, SlurmTwoNodeJobMatchesOneNodeOfFourAndNamesNodesInTargets) {
  start("multinode-slurm", "wrmd", 44);
  start_slurm(17410);
  const std::string job = sbatch_two_nodes("two", {"train.micro_batch=2", "train.max_steps=4",
                                                    "metrics.port=" + std::to_string(kMetricsPort)});
  const fs::path two = ws_->root() / "runs" / ("two-" + job), one = ws_->root() / "one-node";
  EXPECT_EQ(slurm_->wait_done(job, 300s), "COMPLETED") << read_text(ws_->root() / ("two-" + job + ".out"));
  expect_targets_per_node(two);
  ASSERT_EQ(run(one_node(one, {"train.micro_batch=2", "train.max_steps=4"}), ws_->root() / "one.txt", 240s), 0)
      << read_text(ws_->root() / "one.txt");
  EXPECT_EQ(final_step(two), 4);
  EXPECT_LE(max_abs_diff(final_weights(two), final_weights(one)), 1e-5);
}

TEST_F(MultiNode, SlurmJobEndsWithin60SecondsWhenEveryRankOfOneNodeIsKilled) {
  start("multinode-slurm-kill", "wrme", 45);
  start_slurm(17420);
  const SlurmRun r = start_long_slurm_job("killed", "--launcher mpirun");  // mpirun over srun-started daemons
  const auto ranks = find_processes("trainer", "", nodes_->node(2));
  ASSERT_EQ(ranks.size(), 2u);
  const auto killed_at = std::chrono::steady_clock::now();
  for (pid_t rank : ranks) kill(rank, SIGKILL);
  const std::string state = slurm_->wait_done(r.job, 90s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(state, "FAILED") << read_text(r.log);
  EXPECT_LE(seconds, 60.0) << read_text(r.log);
  std::printf("the job ended %.1f s after the kill\n", seconds);
}

TEST_F(MultiNode, SlurmBatchScriptReturnsWithin120SecondsWhenANodeIsCutOff) {
  start("multinode-slurm-cut", "wrmf", 46);
  start_slurm(17430);
  const SlurmRun r = start_long_slurm_job("cut");
  // The batch shell: bash running train_job.sh, a child of slurmstepd (its subshells are not).
  std::vector<pid_t> batch_shell;
  for (pid_t pid : find_processes("bash", "SLURM_JOB_ID=" + r.job)) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string id, comm, state;
    pid_t parent = 0;
    if (stat >> id >> comm >> state >> parent && read_text("/proc/" + std::to_string(parent) + "/comm") == "slurmstepd\n")
      batch_shell.push_back(pid);
  }
  ASSERT_EQ(batch_shell.size(), 1u);
  const auto cut_at = std::chrono::steady_clock::now();
  nodes_->cut(2);
  // The batch script (on node 1) must end; the job itself then waits for Slurm to give up on node 2.
  const bool ended = eventually([&] { return kill(batch_shell[0], 0) != 0; }, 150s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cut_at).count();
  const std::string said = read_text(r.log);
  EXPECT_TRUE(ended) << said;
  EXPECT_LE(seconds, 120.0) << said;
  EXPECT_NE(said.find("a peer rank failed (exit 76)"), std::string::npos) << said;
  std::printf("the batch script returned %.1f s after the link went down\n", seconds);
  EXPECT_TRUE(ranks_gone_by(cut_at + 60s)) << "ranks still running 60 s after the cut";
}

}  // namespace
