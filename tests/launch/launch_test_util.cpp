// See launch_test_util.h.
#include "tests/launch/launch_test_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "checkpoints/retention.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"

namespace wildreid::launch_testing {

fs::path bin_dir() { return std::getenv("WILDREID_BIN") ? std::getenv("WILDREID_BIN") : "build/bin"; }
fs::path source_dir() {
  return fs::absolute(std::getenv("WILDREID_SOURCE") ? std::getenv("WILDREID_SOURCE") : ".");
}
std::string trainer() { return fs::absolute(bin_dir() / "trainer").string(); }

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

pid_t spawn(const std::string& command, const fs::path& log) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    const std::string full = "exec >> " + quote(log.string()) + " 2>&1 < /dev/null; " + command;
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::duration<double> limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int run(const std::string& command, const fs::path& log, std::chrono::duration<double> limit) {
  const pid_t pid = spawn(command, log);
  if (const auto code = wait_exit(pid, limit)) return *code;
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::ofstream(log, std::ios::app) << "\n[test] command timed out and was killed: " << command << "\n";
  return -1;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<pid_t> find_processes(const std::string& comm, const std::string& marker, const std::string& netns) {
  struct stat target_ns {};
  const bool by_ns = !netns.empty();
  if (by_ns && stat(("/run/netns/" + netns).c_str(), &target_ns) != 0) return {};
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string command = read_text(entry.path() / "comm");
    while (!command.empty() && command.back() == '\n') command.pop_back();
    if (command != comm) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string pid_text, comm_field, state;
    if (!(stat_file >> pid_text >> comm_field >> state) || state == "Z") continue;
    if (by_ns) {
      struct stat ns {};
      if (stat((entry.path() / "ns/net").c_str(), &ns) != 0 || ns.st_ino != target_ns.st_ino) continue;
    }
    if (!marker.empty()) {
      const std::string nul(1, '\0');
      if ((nul + read_text(entry.path() / "environ") + nul).find(nul + marker + nul) == std::string::npos) continue;
    }
    out.push_back(std::stoi(name));
  }
  return out;
}

// ---- Workspace

Workspace::Workspace(const std::string& name, bool with_shards) {
  const char* base = std::getenv("WILDREID_TEST_TMP");
  root_ = fs::path(base ? base : fs::temp_directory_path().string()) /
          ("wildreid-" + name + "-" + std::to_string(::getpid()));
  checkpoints::remove_tree(root_);
  fs::create_directories(root_);
  if (with_shards) shards_ = make_shards("shards", 2);
}

Workspace::~Workspace() {
  if (!std::getenv("WILDREID_KEEP_TEST_TMP")) checkpoints::remove_tree(root_);
}

fs::path Workspace::make_shards(const std::string& name, int identities) {
  const fs::path synth = root_ / (name + "-synth"), out = root_ / name;
  if (run(trainer() + " synth --quiet --identities " + std::to_string(identities) +
              " --unknowns 1 --images 40 --size 64 --out " + quote(synth.string()),
          log(), std::chrono::seconds(120)) != 0 ||
      run(trainer() + " pack --metadata " + quote((synth / "metadata.csv").string()) + " --out " +
              quote(out.string()),
          log(), std::chrono::seconds(120)) != 0)
    throw std::runtime_error("synth/pack failed; see " + log().string() + "\n" + read_text(log()));
  return out;
}

std::vector<std::string> tiny_train_sets(const fs::path& shards, const std::vector<std::string>& sets) {
  std::vector<std::string> out = {"data.shards=" + shards.string(), "model.img_size=32", "data.workers=1",
                                  "data.augment=false", "data.shuffle=false", "train.validate=false",
                                  "optim.warmup_ratio=0", "optim.schedule=constant", "train.log_every=1"};
  out.insert(out.end(), sets.begin(), sets.end());
  return out;
}

std::string join_sets(const std::vector<std::string>& sets) {
  std::string out;
  for (const auto& s : sets) out += " --set " + quote(s);
  return out;
}

std::map<std::string, at::Tensor> final_weights(const fs::path& run_dir) {
  const auto latest = checkpoints::latest_checkpoint(run_dir / "checkpoints");
  if (!latest) throw std::runtime_error("no checkpoint in " + run_dir.string());
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : checkpoints::load_safetensors(*latest / "model.safetensors")) out[k] = v.clone();
  return out;
}

int64_t final_step(const fs::path& run_dir) {
  const auto latest = checkpoints::latest_checkpoint(run_dir / "checkpoints");
  if (!latest) return -1;
  return checkpoints::load_training_state(*latest).progress.at("step").get<int64_t>();
}

double max_abs_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  if (a.size() != b.size()) return 1e30;
  double out = 0;
  for (const auto& [k, v] : a) {
    const auto it = b.find(k);
    if (it == b.end()) return 1e30;
    out = std::max(out, (v - it->second).abs().max().item<double>());
  }
  return out;
}

// ---- SlurmCluster

SlurmCluster::SlurmCluster(const fs::path& dir, int port, const std::string& nodes_spec) : dir_(dir) {
  const fs::path log = dir.parent_path() / ("slurm-" + dir.filename().string() + ".log");
  const std::string script = (source_dir() / "tests/launch/local_slurm.sh").string();
  const int code = launch_testing::run(script + " up " + quote(dir.string()) + " " + std::to_string(port) + " " +
                                           nodes_spec + " OWNER_PID=" + std::to_string(::getpid()),
                                       log, std::chrono::seconds(120));
  if (code != 0)
    throw std::runtime_error("local_slurm.sh up failed (exit " + std::to_string(code) + "):\n" + read_text(log));
}

SlurmCluster::~SlurmCluster() {
  launch_testing::run((source_dir() / "tests/launch/local_slurm.sh").string() + " down " + quote(dir_.string()),
                      dir_.parent_path() / "slurm-down.log", std::chrono::seconds(60));
}

std::string SlurmCluster::env() const {
  // No WILDREID_HOME: the batch scripts find the checkout from the submitted path, as for users.
  return "SLURM_CONF=" + quote((dir_ / "slurm.conf").string()) + " WILDREID_TRAINER=" + quote(trainer()) + " ";
}

int SlurmCluster::run(const std::string& command, std::chrono::duration<double> limit) const {
  return launch_testing::run(env() + command, dir_.parent_path() / "slurm-commands.log", limit);
}

std::string SlurmCluster::sbatch(const std::string& args) const {
  const fs::path out = dir_.parent_path() / "sbatch.out";
  fs::remove(out);
  const int code = launch_testing::run(env() + "sbatch --parsable " + args, out, std::chrono::seconds(30));
  std::string text = read_text(out);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (code != 0 || text.empty() || text.find_first_not_of("0123456789;") != std::string::npos)
    throw std::runtime_error("sbatch " + args + " failed (exit " + std::to_string(code) + "): " + text);
  return text.substr(0, text.find(';'));
}

std::string SlurmCluster::job_field(const std::string& job, const std::string& field) const {
  const fs::path out = dir_.parent_path() / ("scontrol-" + job + ".out");
  fs::remove(out);
  launch_testing::run(env() + "scontrol show job -o " + job, out, std::chrono::seconds(20));
  const std::string text = read_text(out);
  const std::string key = " " + field + "=";
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size();
  return text.substr(start, text.find_first_of(" \n", start) - start);
}

std::string SlurmCluster::wait_done(const std::string& job, std::chrono::duration<double> limit) const {
  std::string state;
  eventually(
      [&] {
        state = job_field(job, "JobState");
        return !state.empty() && state != "PENDING" && state != "RUNNING" && state != "COMPLETING" &&
               state != "CONFIGURING" && state != "REQUEUED" && state != "REQUEUE_HOLD" && state != "SUSPENDED";
      },
      limit);
  return state;
}

// ---- SimNodes

SimNodes::SimNodes(const std::string& prefix, int net, int count) : prefix_(prefix), net_(net), count_(count) {
  const fs::path log = fs::temp_directory_path() / ("wildreid-simnodes-" + prefix + ".log");
  const int code = run((source_dir() / "tests/launch/sim_nodes.sh").string() + " up " + prefix + " " +
                           std::to_string(net) + " " + std::to_string(count) + " " + std::to_string(::getpid()),
                       log, std::chrono::seconds(60));
  const std::string text = read_text(log);
  fs::remove(log);
  if (code != 0) throw std::runtime_error("sim_nodes.sh up failed (exit " + std::to_string(code) + "):\n" + text);
}

SimNodes::~SimNodes() {
  const fs::path log = fs::temp_directory_path() / ("wildreid-simnodes-" + prefix_ + "-down.log");
  run((source_dir() / "tests/launch/sim_nodes.sh").string() + " down " + prefix_, log, std::chrono::seconds(60));
  fs::remove(log);
}

std::string SimNodes::spec() const { return prefix_ + " " + std::to_string(net_) + " " + std::to_string(count_); }

void SimNodes::cut(int k) const {
  const fs::path log = fs::temp_directory_path() / ("wildreid-simnodes-" + prefix_ + "-cut.log");
  run((source_dir() / "tests/launch/sim_nodes.sh").string() + " cut " + prefix_ + " " + std::to_string(k), log,
      std::chrono::seconds(20));
  fs::remove(log);
}

std::string SimNodes::scrape(int k, int port) const {
  const fs::path out = fs::temp_directory_path() / ("wildreid-scrape-" + prefix_ + "-" + std::to_string(port));
  fs::remove(out);
  // bash's /dev/tcp: no HTTP client needed inside the node.
  run((source_dir() / "tests/launch/sim_nodes.sh").string() + " exec " + prefix_ + " " + std::to_string(k) +
          " bash -c " +
          quote("exec 3<>/dev/tcp/" + node(k) + "/" + std::to_string(port) +
                " && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3"),
      out, std::chrono::seconds(20));
  std::string text = read_text(out);
  fs::remove(out);
  return text;
}

}  // namespace wildreid::launch_testing
