// Shared by the launch tests: commands run with their output in a log file and a deadline (a
// launcher that hangs fails the test instead of CI), the small synth shard set every test trains
// on, the `trainer train` overrides that make a run tiny and deterministic, final weights, and
// helpers for the throw-away Slurm clusters and simulated nodes the tests bring up
// (local_slurm.sh, sim_nodes.sh), which are torn down by the fixture or, if the test process is
// killed, by the scripts' own reapers.
#pragma once
#include <ATen/core/Tensor.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wildreid::launch_testing {

namespace fs = std::filesystem;

fs::path bin_dir();     // $WILDREID_BIN or build/bin
fs::path source_dir();  // $WILDREID_SOURCE or the working directory (tests run in the checkout)
std::string trainer();  // bin_dir()/trainer
std::string quote(const std::string& text);  // single-quoted for /bin/sh

// A command started in its own process group with stdout+stderr appended to `log`.
pid_t spawn(const std::string& command, const fs::path& log);
// Waits for `pid`; its exit code (128+signal if killed), or nullopt after `limit`.
std::optional<int> wait_exit(pid_t pid, std::chrono::duration<double> limit);
// spawn + wait_exit; on timeout kills the process group and returns -1.
int run(const std::string& command, const fs::path& log, std::chrono::duration<double> limit);
// The text of a file ("" if missing).
std::string read_text(const fs::path& path);
// Polls `ready` every 200 ms until it returns true or `limit` passes.
template <typename F>
bool eventually(F&& ready, std::chrono::duration<double> limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    ::usleep(200000);
  }
  return ready();
}
// Processes named `comm` (e.g. "trainer") whose environment has NAME=VALUE `marker` (or any, if
// empty) and, if given, that live in network namespace `netns`.
std::vector<pid_t> find_processes(const std::string& comm, const std::string& marker = "",
                                  const std::string& netns = "");

// A per-test temporary directory, with (unless `with_shards` is false) a packed synth shard set
// (2+1 identities x 40 images per synth dataset at 64 px); removed by the destructor.
class Workspace {
 public:
  explicit Workspace(const std::string& name, bool with_shards = true);
  ~Workspace();
  const fs::path& root() const { return root_; }
  const fs::path& shards() const { return shards_; }
  fs::path log() const { return root_ / "log.txt"; }
  // Makes a synth set + shards under root/<name> (a second dataset for chains).
  fs::path make_shards(const std::string& name, int identities);

 private:
  fs::path root_, shards_;
};

// `trainer train` options for a tiny deterministic run on `shards` into `run_dir`:
// convnext_atto at 32 px, no augmentation/shuffle/validation, constant lr, plus `sets`.
std::vector<std::string> tiny_train_sets(const fs::path& shards, const std::vector<std::string>& sets);
std::string join_sets(const std::vector<std::string>& sets);  // " --set a --set b"

// Newest checkpoint's model tensors in run_dir/checkpoints, and the largest difference.
std::map<std::string, at::Tensor> final_weights(const fs::path& run_dir);
int64_t final_step(const fs::path& run_dir);
double max_abs_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b);

// A Slurm cluster of local_slurm.sh in `dir` (single host, or the simulated nodes PREFIX NET N).
class SlurmCluster {
 public:
  // Brings it up or throws with the script's output. `port`: slurmctld's (slurmd: port+1).
  SlurmCluster(const fs::path& dir, int port, const std::string& nodes_spec = "");
  ~SlurmCluster();
  // "SLURM_CONF=... " + command, run through /bin/sh; output appended to the cluster's log.
  int run(const std::string& command, std::chrono::duration<double> limit = std::chrono::seconds(30)) const;
  std::string env() const;  // "SLURM_CONF=... WILDREID_TRAINER=... " for a command line
  // sbatch --parsable ARGS; the job id, or throws with sbatch's output.
  std::string sbatch(const std::string& args) const;
  // A field of `scontrol show job -o ID` (e.g. JobState, ExitCode, Restarts); "" if unknown.
  std::string job_field(const std::string& job, const std::string& field) const;
  // Waits until the job is COMPLETED/FAILED/CANCELLED/TIMEOUT/NODE_FAIL/...; the final state or "".
  std::string wait_done(const std::string& job, std::chrono::duration<double> limit) const;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// Simulated nodes of sim_nodes.sh: PREFIX-n1..N at 198.18.NET.K.
class SimNodes {
 public:
  SimNodes(const std::string& prefix, int net, int count);
  ~SimNodes();
  std::string node(int k) const { return prefix_ + "-n" + std::to_string(k); }
  std::string address(int k) const { return "198.18." + std::to_string(net_) + "." + std::to_string(k); }
  std::string subnet() const { return "198.18." + std::to_string(net_) + ".0/24"; }
  std::string spec() const;  // "PREFIX NET N" for local_slurm.sh
  void cut(int k) const;
  // GET http://node(k):port/metrics from inside node k ("" if it cannot connect).
  std::string scrape(int k, int port) const;

 private:
  std::string prefix_;
  int net_, count_;
};

}  // namespace wildreid::launch_testing
