// The Slurm batch scripts of launch/slurm/ against a real Slurm (Debian slurm-wlm + munge),
// brought up per test on loopback by local_slurm.sh: one node with 2 CPUs and 8 fake GPUs. Jobs
// are the project's own scripts with their header's 8-GPU geometry overridden to 2 ranks:
//  - srun (PMIx) and mpirun-in-the-allocation jobs train, checkpoint, write metrics.jsonl and
//    prometheus_targets.json, and agree on the weights; the srun job stages the shard set;
//  - a job signalled as before its time limit (USR1 to the batch shell) checkpoints, exits 75, is
//    requeued, resumes, and ends with the step count and weights of an uninterrupted job;
//  - a rank killed inside a job ends the job non-zero within 60 s;
//  - chain.sh runs pack -> pretrain -> fine-tune with dependencies (identify is a slot).
// Slurm delays a requeued job by ~2 minutes (BeginTime); the test moves that to "now".
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/launch/launch_test_util.h"

using namespace wildreid::launch_testing;
using namespace std::chrono_literals;

namespace {

class SlurmJobs : public ::testing::Test {
 protected:
  void start(const std::string& name, int port) {
    if (geteuid() != 0) GTEST_SKIP() << "the Slurm tests run slurmctld/slurmd as root; run them as root (CI does)";
    if (system("command -v slurmctld > /dev/null && command -v munged > /dev/null") != 0)
      GTEST_SKIP() << "slurm-wlm / munge are not installed (scripts/setup installs them)";
    ws_ = std::make_unique<Workspace>(name);
    slurm_ = std::make_unique<SlurmCluster>(ws_->root() / "slurm", port);
  }
  // sbatch of a training script with 2 ranks on the test node; CONFIG + sets after job options.
  std::string submit(const std::string& script, const std::string& job_options, const std::vector<std::string>& sets,
                     const std::string& name = "train") {
    return slurm_->sbatch("--chdir=" + ws_->root().string() + " --output=" + (ws_->root() / "%x-%j.out").string() +
                          " --job-name=" + name + " --ntasks-per-node=2 --gpus-per-node=2 --cpus-per-task=1 " +
                          (source_dir() / "launch/slurm" / script).string() + " " + job_options + " " +
                          (source_dir() / "configs/tiny_cpu.yaml").string() +
                          join_sets(tiny_train_sets(ws_->shards(), sets)));
  }
  fs::path run_dir(const std::string& name, const std::string& job) const {
    return ws_->root() / "runs" / (name + "-" + job);
  }
  std::string job_log(const std::string& name, const std::string& job) const {
    return read_text(ws_->root() / (name + "-" + job + ".out"));
  }
  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<SlurmCluster> slurm_;
};

TEST_F(SlurmJobs, SrunAndMpirunJobsTrainCheckpointAndWriteMetrics) {
  start("slurm-train", 17310);
  const std::vector<std::string> sets = {"train.micro_batch=4", "train.max_steps=4", "checkpoint.every_steps=2",
                                         "metrics.port=19310"};
  const fs::path local = ws_->root() / "node-local";
  const std::string with_srun = submit("train_1node.sbatch", "--stage " + local.string(), sets, "srun");
  const std::string with_mpirun = submit("train_1node.sbatch", "--launcher mpirun", sets, "mpirun");
  for (const auto& [name, job] : {std::pair{std::string("srun"), with_srun}, {std::string("mpirun"), with_mpirun}}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(slurm_->wait_done(job, 300s), "COMPLETED") << job_log(name, job);
    EXPECT_EQ(slurm_->job_field(job, "ExitCode"), "0:0");
    const fs::path run = run_dir(name, job);  // named by the job id
    EXPECT_EQ(final_step(run), 4) << job_log(name, job);
    EXPECT_TRUE(fs::exists(run / "checkpoints/step-000000002"));
    EXPECT_TRUE(fs::exists(run / "config.yaml"));
    const std::string jsonl = read_text(run / "metrics.jsonl");
    EXPECT_NE(jsonl.find("\"step\":4"), std::string::npos) << jsonl;
    const auto targets = nlohmann::json::parse(read_text(run / "prometheus_targets.json"));
    ASSERT_EQ(targets.size(), 2u) << targets.dump();
    for (size_t rank = 0; rank < 2; ++rank) {
      EXPECT_EQ(targets[rank]["labels"]["rank"], std::to_string(rank));
      const std::string target = targets[rank]["targets"][0];
      EXPECT_EQ(target.substr(target.rfind(':') + 1), std::to_string(19310 + rank)) << target;  // base + local rank
    }
    EXPECT_NE(job_log(name, job).find("launcher " + name), std::string::npos) << job_log(name, job);
  }
  EXPECT_LE(max_abs_diff(final_weights(run_dir("srun", with_srun)), final_weights(run_dir("mpirun", with_mpirun))),
            1e-6);
  // The srun job trained from its node-local copy of the shard set, removed at the end.
  const fs::path staged = local / ("wildreid-" + with_srun + "-shards");
  EXPECT_NE(job_log("srun", with_srun).find("staged to " + staged.string()), std::string::npos)
      << job_log("srun", with_srun);
  EXPECT_NE(read_text(run_dir("srun", with_srun) / "config.yaml").find(staged.string()), std::string::npos);
  EXPECT_FALSE(fs::exists(staged));
}

TEST_F(SlurmJobs, SignalledJobCheckpointsIsRequeuedAndResumesToTheUninterruptedResult) {
  start("slurm-preempt", 17320);
  const std::vector<std::string> sets = {"train.micro_batch=4", "train.epochs=20", "train.max_steps=12",
                                         "checkpoint.every_steps=2", "data.augment=true", "data.shuffle=true"};
  const std::string job = submit("train_1node.sbatch", "", sets, "preempted");
  const std::string reference = submit("train_1node.sbatch", "", sets, "straight");  // runs after (2 CPUs)
  const fs::path run = run_dir("preempted", job);
  ASSERT_TRUE(eventually([&] { return fs::exists(run / "checkpoints/step-000000002"); }, 180s)) << job_log("preempted", job);
  // What Slurm does before the time limit with --signal=B:USR1@...: USR1 to the batch shell only.
  ASSERT_EQ(slurm_->run("scancel --batch --signal=USR1 " + job), 0);
  ASSERT_TRUE(eventually([&] { return slurm_->job_field(job, "Restarts") == "1"; }, 120s)) << job_log("preempted", job);
  // Slurm holds a requeued job ~2 min (BeginTime); start it as soon as the node is free.
  EXPECT_TRUE(eventually(
      [&] {
        if (slurm_->job_field(job, "Reason") != "BeginTime") return true;
        slurm_->run("scontrol update jobid=" + job + " StartTime=now");
        return false;
      },
      60s));
  EXPECT_EQ(slurm_->wait_done(job, 300s), "COMPLETED") << job_log("preempted", job);
  EXPECT_EQ(slurm_->wait_done(reference, 300s), "COMPLETED") << job_log("straight", reference);

  const std::string log = job_log("preempted", job);
  EXPECT_NE(log.find("forwarding SIGUSR1 to the launcher"), std::string::npos) << log;
  EXPECT_NE(log.find("Exited with exit code 75"), std::string::npos) << log;
  EXPECT_NE(log.find("requeueing job " + job), std::string::npos) << log;
  EXPECT_NE(log.find("start (restart 1)"), std::string::npos) << log;
  const size_t resumed = log.find("trainer: resumed from");
  ASSERT_NE(resumed, std::string::npos) << log;
  const int64_t resumed_step = std::stoll(log.substr(log.find(" at step ", resumed) + 9));
  EXPECT_GT(resumed_step, 0);
  EXPECT_LT(resumed_step, 12) << "the signal must land while training";
  EXPECT_EQ(final_step(run), 12);
  EXPECT_EQ(final_step(run_dir("straight", reference)), 12);
  const auto a = final_weights(run), b = final_weights(run_dir("straight", reference));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
}

TEST_F(SlurmJobs, KilledRankEndsTheJobNonZeroWithin60Seconds) {
  start("slurm-kill", 17330);
  const std::string job = submit("train_1node.sbatch", "", {"train.micro_batch=4", "train.epochs=200",
                                                           "checkpoint.every_steps=2"}, "killed");
  ASSERT_TRUE(eventually([&] { return fs::exists(run_dir("killed", job) / "checkpoints/step-000000002"); }, 180s))
      << job_log("killed", job);
  const auto ranks = find_processes("trainer", "SLURM_JOB_ID=" + job);
  ASSERT_EQ(ranks.size(), 2u);
  const auto killed_at = std::chrono::steady_clock::now();
  kill(ranks[1], SIGKILL);
  const std::string state = slurm_->wait_done(job, 90s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(state, "FAILED") << job_log("killed", job);
  EXPECT_LE(seconds, 60.0) << job_log("killed", job);
  std::printf("the job ended %.1f s after the kill\n", seconds);
  EXPECT_NE(slurm_->job_field(job, "ExitCode"), "0:0");
  for (pid_t rank : ranks) EXPECT_NE(kill(rank, 0), 0) << "rank " << rank << " still running";
}

TEST_F(SlurmJobs, ChainRunsPackPretrainFinetuneAndIdentifyWithDependencies) {
  start("slurm-chain", 17340);
  const fs::path w_synth = ws_->root() / "wr10k-synth", c_synth = ws_->root() / "clef-synth";
  for (const auto& [dir, identities] : {std::pair{w_synth, 2}, {c_synth, 3}})
    ASSERT_EQ(run(trainer() + " synth --quiet --identities " + std::to_string(identities) +
                      " --unknowns 1 --images 40 --size 64 --out " + dir.string(), ws_->log(), 120s), 0);
  const fs::path chain = ws_->root() / "chain", out = ws_->root() / "chain.txt";
  std::string sets;
  for (const auto& s : tiny_train_sets("", {"train.micro_batch=4", "train.epochs=1"}))
    if (s.rfind("data.shards=", 0) != 0) sets += " --pretrain-set " + s + " --finetune-set " + s;
  const int code = run(slurm_->env() + (source_dir() / "launch/slurm/chain.sh").string() + " --out " +
                           chain.string() + " --wr10k-metadata " + (w_synth / "metadata.csv").string() +
                           " --animalclef-metadata " + (c_synth / "metadata.csv").string() +
                           " --pretrain-config " + (source_dir() / "configs/tiny_cpu.yaml").string() +
                           " --finetune-config " + (source_dir() / "configs/tiny_cpu.yaml").string() + sets +
                           " --sbatch-arg=--chdir=" + ws_->root().string() + " --sbatch-arg=--output=" +
                           (ws_->root() / "%x-%j.out").string() + " --sbatch-arg=--cpus-per-task=1" +
                           " --train-sbatch-arg=--ntasks-per-node=2 --train-sbatch-arg=--gpus-per-node=2",
                       out, 60s);
  const std::string said = read_text(out);
  ASSERT_EQ(code, 0) << said;
  // jobs.txt: "<stage> job <id> after <dependency>"
  std::map<std::string, std::pair<std::string, std::string>> jobs;
  std::ifstream lines(chain / "jobs.txt");
  for (std::string stage, word, id, after, dep; lines >> stage >> word >> id >> after >> dep;) jobs[stage] = {id, dep};
  ASSERT_EQ(jobs.size(), 5u) << read_text(chain / "jobs.txt");
  EXPECT_EQ(jobs["pretrain"].second, jobs["pack-wr10k"].first);
  EXPECT_EQ(jobs["finetune"].second, jobs["pretrain"].first + ":" + jobs["pack-clef"].first);
  EXPECT_EQ(jobs["identify"].second, jobs["finetune"].first);
  for (const auto& stage : {"pack-wr10k", "pack-clef", "pretrain", "finetune", "identify"}) {
    const std::string id = jobs[stage].first;
    EXPECT_EQ(slurm_->wait_done(id, 400s), "COMPLETED")
        << stage << "\n" << read_text(ws_->root() / ("wildreid-" + std::string(stage) + "-" + id + ".out"));
  }
  EXPECT_TRUE(fs::exists(chain / "shards/animalclef2025/manifest.json"));
  EXPECT_TRUE(fs::exists(chain / "pretrain/best.safetensors"));
  EXPECT_TRUE(fs::exists(chain / "finetune/best.safetensors"));
  const std::string finetune_config = read_text(chain / "finetune/config.yaml");
  EXPECT_NE(finetune_config.find((chain / "pretrain/best.safetensors").string()), std::string::npos) << finetune_config;
  EXPECT_NE(finetune_config.find((chain / "shards/animalclef2025").string()), std::string::npos) << finetune_config;
  // The identify stage embedded the competition set with the fine-tuned weights and answered
  // every query of its metadata.
  const std::string submission = read_text(chain / "identify/submission.csv");
  EXPECT_EQ(submission.rfind("image_id,identity\n", 0), 0u) << submission;
  const std::string solution = read_text(c_synth / "solution.csv");
  EXPECT_EQ(std::count(submission.begin(), submission.end(), '\n'), std::count(solution.begin(), solution.end(), '\n'))
      << submission;
}

}  // namespace
