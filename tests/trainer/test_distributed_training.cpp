// End-to-end tests of `trainer train` under a real `mpirun` on CPU (issue 4 §5): DDP and
// accumulation equivalence of final weights, bitwise resume, a SIGTERM checkpoint, a killed
// rank, ArcFace with identity-balanced batches, and a tiny model that learns. They share one small `trainer synth` + `trainer pack`
// set built once, use convnext_atto at 32-64 px and a handful of steps to stay short on 2 cores.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "checkpoints/retention.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"

namespace fs = std::filesystem;
using namespace wildreid;

namespace {

fs::path bin_dir() { return std::getenv("WILDREID_BIN") ? std::getenv("WILDREID_BIN") : "build/bin"; }
fs::path source_dir() { return std::getenv("WILDREID_SOURCE") ? std::getenv("WILDREID_SOURCE") : "."; }
fs::path g_root, g_shards;

int run(const std::string& command) {
  const int status = std::system((command + " >> " + (g_root / "log.txt").string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string mpirun(int ranks) {
  return "mpirun -np " + std::to_string(ranks) + " --oversubscribe --allow-run-as-root ";
}

// `trainer train` on the shared set with the given overrides (run.dir = root/name).
std::string train_command(const std::string& name, const std::vector<std::string>& sets) {
  std::string cmd = (bin_dir() / "trainer").string() + " train --config " +
                    (source_dir() / "configs/tiny_cpu.yaml").string() + " --set data.shards=" +
                    g_shards.string() + " --set run.dir=" + (g_root / name).string() +
                    " --set model.img_size=32 --set train.log_every=1000 --set data.workers=1";
  for (const auto& s : sets) cmd += " --set " + s;
  return cmd;
}

std::map<std::string, at::Tensor> final_weights(const std::string& name) {
  const auto latest = checkpoints::latest_checkpoint(g_root / name / "checkpoints");
  if (!latest) throw std::runtime_error("no checkpoint in " + name);
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : checkpoints::load_safetensors(*latest / "model.safetensors")) out[k] = v.clone();
  return out;
}

double max_abs_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double out = 0;
  for (const auto& [k, v] : a) out = std::max(out, (v - b.at(k)).abs().max().item<double>());
  return out;
}

class DistributedTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = fs::temp_directory_path() / ("wildreid-train-" + std::to_string(::getpid()));
    checkpoints::remove_tree(g_root);
    fs::create_directories(g_root);
    g_shards = g_root / "shards";
    const auto trainer = (bin_dir() / "trainer").string();
    ASSERT_EQ(run(trainer + " synth --quiet --identities 2 --unknowns 1 --images 40 --size 64 --out " +
                  (g_root / "synth").string()), 0);
    ASSERT_EQ(run(trainer + " pack --metadata " + (g_root / "synth/metadata.csv").string() + " --out " +
                  g_shards.string()), 0);
  }
  static void TearDownTestSuite() { checkpoints::remove_tree(g_root); }
};

// Spawns a command in its own process group; returns its pid.
pid_t spawn(const std::string& command) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const std::string full = "exec " + command + " >> " + (g_root / "log.txt").string() + " 2>&1";
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits up to `limit` for pid; returns its exit code, or -1 on timeout.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

bool wait_for_path(const fs::path& path, pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    if (kill(pid, 0) != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::vector<pid_t> trainer_ranks_of(pid_t mpirun_pid) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (stat >> pid >> comm >> state >> ppid && ppid == mpirun_pid && comm == "(trainer)") out.push_back(std::stoi(pid));
  }
  return out;
}

// True while `pid` exists and is not a zombie.
bool running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string id, comm, state;
  return static_cast<bool>(stat >> id >> comm >> state) && state != "Z";
}

// Runs that differ only in how a batch is split (ranks, accumulation) sum gradients in another fp32
// order; AdamW's normalisation m / sqrt(v) turns that rounding into a visible update for parameters
// whose gradient is near zero (up to lr per step whatever the gradient's size). The bound is lr / 20
// (lr 2e-3, configs/tiny_cpu.yaml): a twentieth of one step's largest move, while a wrong split
// (other samples, a missing micro-batch) changes the update's direction and moves weights by ~lr.
constexpr double kSplitTolerance = 1e-4;

const std::vector<std::string> kDeterministic = {"data.augment=false", "data.shuffle=false", "train.validate=false",
                                                 "optim.warmup_ratio=0", "optim.schedule=constant"};

}  // namespace

TEST_F(DistributedTraining, TwoRanksEqualOneRankWithDoubleBatch) {
  auto sets = kDeterministic;
  sets.push_back("train.max_steps=4");
  auto one = sets, two = sets;
  one.push_back("train.micro_batch=8");
  two.push_back("train.micro_batch=4");
  ASSERT_EQ(run(mpirun(1) + train_command("ddp1", one)), 0);
  ASSERT_EQ(run(mpirun(2) + train_command("ddp2", two)), 0);
  const auto a = final_weights("ddp1"), b = final_weights("ddp2");
  EXPECT_LE(max_abs_diff(a, b), kSplitTolerance);
  auto fresh = sets;
  fresh.back() = "train.max_steps=1";
  fresh.push_back("train.micro_batch=8");
  ASSERT_EQ(run(mpirun(1) + train_command("ddp1_short", fresh)), 0);
  EXPECT_GT(max_abs_diff(a, final_weights("ddp1_short")), 10 * kSplitTolerance);
}

TEST_F(DistributedTraining, AccumulationOfFourQuartersEqualsOneBatch) {
  auto sets = kDeterministic;
  sets.push_back("train.max_steps=3");
  auto whole = sets, quarters = sets;
  whole.push_back("train.micro_batch=8");
  quarters.push_back("train.micro_batch=2");
  quarters.push_back("train.accumulation=4");
  ASSERT_EQ(run(train_command("acc1", whole)), 0);
  ASSERT_EQ(run(train_command("acc4", quarters)), 0);
  EXPECT_LE(max_abs_diff(final_weights("acc1"), final_weights("acc4")), kSplitTolerance);
}

TEST_F(DistributedTraining, ResumeIsBitwiseIdenticalToStraightRun) {
  // Augmentation, shuffling and drop path on: the resume must restore sampler and RNG state.
  const std::vector<std::string> sets = {"train.micro_batch=8", "train.validate=false", "model.drop_path=0.1",
                                         "data.augment=true", "checkpoint.keep_last=5"};
  auto straight = sets, first = sets, second = sets;
  straight.push_back("train.max_steps=12");
  first.push_back("train.max_steps=6");
  second.push_back("train.max_steps=12");
  ASSERT_EQ(run(mpirun(2) + train_command("straight", straight)), 0);
  ASSERT_EQ(run(mpirun(2) + train_command("resumed", first)), 0);
  ASSERT_TRUE(fs::exists(g_root / "resumed/checkpoints/step-000000006"));
  ASSERT_EQ(run(mpirun(2) + train_command("resumed", second)), 0);
  const auto a = final_weights("straight"), b = final_weights("resumed");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
  const auto sa = checkpoints::load_training_state(*checkpoints::latest_checkpoint(g_root / "straight/checkpoints"));
  const auto sb = checkpoints::load_training_state(*checkpoints::latest_checkpoint(g_root / "resumed/checkpoints"));
  for (const auto& [name, tensor] : sa.optimizer) EXPECT_TRUE(at::equal(tensor, sb.optimizer.at(name))) << name;
  EXPECT_EQ(sa.progress.at("step"), 12);
  EXPECT_EQ(sa.progress.at("sampler"), sb.progress.at("sampler"));
}

TEST_F(DistributedTraining, SigtermWritesCheckpointAndExitsWithCode75) {
  const pid_t pid = spawn(mpirun(2) + train_command("preempt", {"train.micro_batch=4", "train.epochs=20",
                                                                "train.validate=false", "checkpoint.every_steps=2"}));
  ASSERT_TRUE(wait_for_path(g_root / "preempt/checkpoints/step-000000002", pid, std::chrono::seconds(120)));
  const auto ranks = trainer_ranks_of(pid);
  ASSERT_EQ(ranks.size(), 2u);
  for (pid_t r : ranks) kill(r, SIGTERM);  // what Slurm does to every task on preemption
  EXPECT_EQ(wait_for(pid, std::chrono::seconds(90)), 75);
  const auto latest = checkpoints::latest_checkpoint(g_root / "preempt/checkpoints");
  ASSERT_TRUE(latest.has_value());
  const auto state = checkpoints::load_training_state(*latest);
  EXPECT_GT(state.progress.at("step").get<int64_t>(), 2);
  EXPECT_EQ(state.rng_states.size(), 2u);
}

TEST_F(DistributedTraining, KilledRankMakesTheOtherExitNonZeroAndCheckpointLoads) {
  const pid_t pid = spawn(mpirun(2) + train_command("killed", {"train.micro_batch=4", "train.epochs=20",
                                                               "train.validate=false", "checkpoint.every_steps=2"}));
  ASSERT_TRUE(wait_for_path(g_root / "killed/checkpoints/step-000000002", pid, std::chrono::seconds(120)));
  const auto ranks = trainer_ranks_of(pid);
  ASSERT_EQ(ranks.size(), 2u);
  const auto killed_at = std::chrono::steady_clock::now();
  kill(ranks[1], SIGKILL);
  const int code = wait_for(pid, std::chrono::seconds(60));
  if (code == -1) kill(-pid, SIGKILL);
  EXPECT_NE(code, -1) << "mpirun did not exit within 60 s of the kill";
  EXPECT_NE(code, 0);
  // The surviving rank is gone (or a zombie awaiting its reaper) within the same 60 s.
  while (running(ranks[0]) && std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(running(ranks[0])) << "surviving rank " << ranks[0] << " still running 60 s after the kill";
  const auto latest = checkpoints::latest_checkpoint(g_root / "killed/checkpoints");
  ASSERT_TRUE(latest.has_value());
  EXPECT_NO_THROW(checkpoints::load_training_state(*latest));
}

// Step results read on the host every 3 steps (what a GPU run does by default, every log_every
// steps) instead of every step change nothing: the same weights bit for bit and the same logged
// per-step losses, gradient norms and loss scales.
TEST_F(DistributedTraining, DeferredHostReadsGiveTheSameRun) {
  auto sets = kDeterministic;
  sets.insert(sets.end(), {"train.max_steps=7", "train.micro_batch=4", "train.log_every=1", "optim.clip_grad_norm=0.5"});
  auto every = sets, deferred = sets;
  every.push_back("train.host_read_every=1");
  deferred.push_back("train.host_read_every=3");
  ASSERT_EQ(run(mpirun(2) + train_command("reads_every", every)), 0);
  ASSERT_EQ(run(mpirun(2) + train_command("reads_deferred", deferred)), 0);
  const auto a = final_weights("reads_every"), b = final_weights("reads_deferred");
  for (const auto& [name, tensor] : a) EXPECT_TRUE(at::equal(tensor, b.at(name))) << name;
  auto step_records = [](const std::string& name) {
    std::vector<std::string> out;
    std::ifstream in(g_root / name / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"type\":\"step\"") == std::string::npos) continue;
      auto pick = [&](const std::string& key) {
        const auto at = line.find("\"" + key + "\":");
        return at == std::string::npos ? std::string("?") : line.substr(at, line.find_first_of(",}", at) - at);
      };
      out.push_back(pick("step") + " " + pick("loss") + " " + pick("grad_norm") + " " + pick("loss_scale"));
    }
    return out;
  };
  const auto ra = step_records("reads_every"), rb = step_records("reads_deferred");
  EXPECT_EQ(ra.size(), 7u);
  EXPECT_EQ(ra, rb);
}

// Rank 0 writing a checkpoint for longer than the collective timeout does not fail the job: the
// other rank waits on the store with checkpoint.wait_timeout_s, not in a collective.
TEST_F(DistributedTraining, SlowCheckpointWriteOutlastsCollectiveTimeout) {
  auto sets = kDeterministic;
  sets.insert(sets.end(), {"train.max_steps=3", "train.micro_batch=4", "checkpoint.every_steps=1",
                           "cluster.timeout_s=4", "debug.checkpoint_delay_s=9"});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run(mpirun(2) + train_command("slow_ckpt", sets)), 0);
  EXPECT_GT(std::chrono::steady_clock::now() - start, std::chrono::seconds(18));  // the writes did take long
  EXPECT_TRUE(fs::exists(g_root / "slow_ckpt/checkpoints/step-000000003"));
}

// loss.type arcface with K-per-identity batches on 2 ranks: it trains and validates (cosine
// logits), and best.safetensors carries both heads' worth: the embedding and a classifier whose
// rows are unit vectors with a zero bias, the loss named in the metadata. With validation off the
// run says so instead of printing a best accuracy of -1, and (logging every step) its first
// progress line already has a measured rate and an ETA.
TEST_F(DistributedTraining, ArcFaceWithIdentityBatchesExportsEmbeddingAndClassifier) {
  const std::vector<std::string> sets = {"loss.type=arcface", "loss.arcface_margin=0.5", "loss.arcface_scale=64",
                                         "data.instances_per_identity=4", "train.micro_batch=8", "train.epochs=1"};
  ASSERT_EQ(run(mpirun(2) + train_command("arcface", sets)), 0);
  checkpoints::SafetensorsFile best(g_root / "arcface/best.safetensors");
  EXPECT_EQ(best.metadata().at("loss"), "arcface");
  EXPECT_EQ(std::stod(best.metadata().at("arcface_scale")), 64.0);
  const at::Tensor w = best.tensor("head.fc.weight");
  EXPECT_EQ(w.size(0), 6);
  EXPECT_TRUE(at::allclose(w.norm(2, {1}), at::ones({6}), 1e-5, 1e-5));
  EXPECT_EQ(best.tensor("head.fc.bias").abs().max().item<double>(), 0.0);
  const auto state = checkpoints::load_training_state(*checkpoints::latest_checkpoint(g_root / "arcface/checkpoints"));
  EXPECT_EQ(state.progress.at("loss"), "arcface");
  EXPECT_GE(state.progress.at("best_accuracy").get<double>(), 0.0);  // validated with the cosine logits

  const auto log_size = fs::file_size(g_root / "log.txt");
  auto off = sets;
  off.push_back("train.validate=false");
  off.push_back("train.log_every=1");
  ASSERT_EQ(run(train_command("arcface_noval", off)), 0);
  std::ifstream log(g_root / "log.txt");
  log.seekg(static_cast<std::streamoff>(log_size));
  const std::string tail((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(tail.find("validation off (train.validate=false)"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("-1.0000"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("0.0 img/s"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("ETA ?"), std::string::npos) << tail;
  const auto first_at = tail.find("Z] epoch 0 | step ");
  ASSERT_NE(first_at, std::string::npos) << tail;
  const std::string first = tail.substr(first_at, tail.find('\n', first_at) - first_at);
  const auto rate_end = first.find(" img/s |");
  ASSERT_NE(rate_end, std::string::npos) << first;
  const auto rate_start = first.rfind("| ", rate_end) + 2;
  EXPECT_GT(std::stod(first.substr(rate_start, rate_end - rate_start)), 0.0) << first;
  EXPECT_NE(first.find("| ETA "), std::string::npos) << first;
  const auto noval = checkpoints::load_training_state(*checkpoints::latest_checkpoint(g_root / "arcface_noval/checkpoints"));
  EXPECT_TRUE(noval.progress.at("best_accuracy").is_null());  // no -1 to be read as a score
}

TEST_F(DistributedTraining, TinyModelLearnsWellAboveChance) {
  // 6 identities (2 per synth dataset; chance 1/6 = 0.167), 156 train / 36 val images, 2 ranks,
  // convnext_atto from scratch at 64 px, 10 epochs of 9 steps. Measured: best val top-1 0.389.
  ASSERT_EQ(run(mpirun(2) + train_command("learn", {"model.img_size=64", "train.micro_batch=8", "train.epochs=10",
                                                    "optim.lr=2e-3"})),
            0);
  const auto best = checkpoints::best_checkpoint(g_root / "learn/checkpoints");
  ASSERT_TRUE(best.has_value());
  const auto state = checkpoints::load_training_state(*best);
  const double accuracy = state.progress.at("best_accuracy").get<double>();
  std::printf("best val top-1 %.3f (chance 0.167)\n", accuracy);
  EXPECT_GE(accuracy, 2.0 / 6.0);  // at least twice chance
  EXPECT_TRUE(fs::exists(g_root / "learn/best.safetensors"));
  EXPECT_TRUE(fs::exists(g_root / "learn/config.yaml"));
}
