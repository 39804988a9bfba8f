// The program the cluster tests start under `mpirun -np 2` (or alone): one scenario per run,
// selected by the first argument. Each rank checks its own results and prints
// "OK <scenario> rank R" or "FAIL rank R: ..." (exit 1); the failure scenarios make one rank
// die, hang, throw or stop joining collectives and print "DYING rank R at <epoch ms>" so the
// test can measure how long the others take to exit.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/conv.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "cluster/cluster.h"
#include "cluster/gradient_reducer.h"

using namespace wildreid::cluster;

namespace {

int g_rank = 0;
bool g_bucket_view = false;

#define CHECK_OR_FAIL(cond, msg)                                                    \
  do {                                                                             \
    if (!(cond)) throw std::runtime_error(std::string("check failed: ") + #cond +    \
                                          " -- " + (msg));                         \
  } while (0)

long long epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

void scenario_collectives(Cluster& c) {
  ProcessGroup& g = c.process_group();
  const int r = c.rank(), n = c.world_size();
  CHECK_OR_FAIL(n == 2, "world size " + std::to_string(n));
  CHECK_OR_FAIL(c.topology().local_size == 2, "local size");
  CHECK_OR_FAIL(c.topology().local_rank == r, "local rank");
  CHECK_OR_FAIL(g.backend_name() == "mpi", g.backend_name());
  CHECK_OR_FAIL(!c.store_address().empty(), "store address");

  auto t = at::full({5, 3}, static_cast<float>(r + 1));
  g.allreduce(t, ReduceOp::kSum);
  CHECK_OR_FAIL(t.eq(3.0f).all().item<bool>(), "sum");
  auto a = at::full({7}, static_cast<double>(r + 1), at::kDouble);
  g.allreduce(a, ReduceOp::kAvg);
  CHECK_OR_FAIL(a.eq(1.5).all().item<bool>(), "avg");
  // Non-contiguous view: the result lands in the caller's strides.
  auto base = at::arange(12, at::kFloat).view({3, 4}) * (r + 1);
  auto view = base.t();
  g.allreduce(view, ReduceOp::kSum);
  CHECK_OR_FAIL(max_diff(base, at::arange(12, at::kFloat).view({3, 4}) * 3) == 0,
                "non-contiguous");
  auto half = at::full({4}, static_cast<float>(r + 1)).to(at::kBFloat16);
  g.allreduce(half, ReduceOp::kAvg);
  CHECK_OR_FAIL(half.to(at::kFloat).eq(1.5f).all().item<bool>(), "bf16 avg");
  auto ints = at::full({3}, static_cast<int64_t>(10 * (r + 1)), at::kLong);
  g.allreduce(ints, ReduceOp::kSum);
  CHECK_OR_FAIL(ints.eq(30).all().item<bool>(), "int64 sum");
  // Async: two in flight, waited in reverse order.
  auto x = at::ones({1000}), y = at::full({10}, 2.0f);
  auto wx = g.allreduce_async(x, ReduceOp::kSum);
  auto wy = g.allreduce_async(y, ReduceOp::kAvg);
  wy->wait();
  wx->wait();
  CHECK_OR_FAIL(x.eq(2.0f).all().item<bool>() && y.eq(2.0f).all().item<bool>(), "async");

  auto b = r == 1 ? at::arange(6, at::kLong) : at::zeros({6}, at::kLong);
  g.broadcast(b, 1);
  CHECK_OR_FAIL(b.equal(at::arange(6, at::kLong)), "broadcast from rank 1");

  auto gathered = g.allgather(at::full({2, 2}, static_cast<float>(r)));
  CHECK_OR_FAIL(gathered.size() == 2, "allgather count");
  for (int k = 0; k < n; ++k)
    CHECK_OR_FAIL(gathered[k].eq(static_cast<float>(k)).all().item<bool>(), "allgather value");

  std::string mine = r == 0 ? "node-a:9100" : "a-much-longer-host-name.example:19101";
  auto strings = g.allgather_strings(mine);
  CHECK_OR_FAIL(strings.size() == 2 && strings[0] == "node-a:9100" &&
                    strings[1] == "a-much-longer-host-name.example:19101",
                "allgather_strings: " + strings[0] + " | " + strings[1]);
  g.barrier();
  CHECK_OR_FAIL(g.collectives_issued() > 10, "counted");
}

// A small conv + MLP net with one branch that a rank may skip and one that nobody uses.
struct Net : torch::nn::Module {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, side{nullptr}, never{nullptr};
  Net() {
    // Registered first so they land in the last buckets (reverse order): the buckets before
    // them can start during backward on every rank.
    never = register_module("never", torch::nn::Linear(5, 5));
    side = register_module("side", torch::nn::Linear(32, 5));
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    fc1 = register_module("fc1", torch::nn::Linear(4 * 6 * 6, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 5));
    register_buffer("stat", at::zeros({3}));
  }
  at::Tensor forward(const at::Tensor& x, bool use_side) {
    auto h = at::relu(conv->forward(x)).flatten(1);
    h = at::tanh(fc1->forward(h));
    auto out = fc2->forward(h);
    if (use_side) out = out + side->forward(h);
    return out;
  }
};

at::Tensor loss_of(Net& net, const at::Tensor& x, const at::Tensor& y, bool use_side) {
  return at::cross_entropy_loss(net.forward(x, use_side), y);
}

void copy_params(Net& from, Net& to) {
  at::NoGradGuard guard;
  auto src = from.parameters();
  auto dst = to.parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

// Rank r's share of the batch uses the side branch only on rank 0 (an unused parameter on
// rank 1); `never` is unused everywhere.
void scenario_reducer(Cluster& c) {
  ProcessGroup& g = c.process_group();
  const int r = c.rank(), n = c.world_size();
  at::manual_seed(100 + r);  // different initial weights per rank: broadcast must fix that
  Net net;
  net.buffers()[0].fill_(static_cast<float>(r + 7));
  broadcast_module_state(net, g);
  for (auto& p : net.parameters()) {
    auto all = g.allgather(p.detach());
    CHECK_OR_FAIL(max_diff(all[0], all[1]) == 0, "parameters differ after broadcast");
  }
  CHECK_OR_FAIL(net.buffers()[0].eq(7.0f).all().item<bool>(), "buffer not from rank 0");

  at::manual_seed(7);  // same data on every rank
  const int64_t batch = 8;
  auto x = at::randn({batch, 3, 8, 8});
  auto y = at::randint(0, 5, {batch}, at::kLong);
  const int64_t share = batch / n;

  // Reference, computed locally: the average of every rank's half-batch loss gradient.
  Net ref;
  copy_params(net, ref);
  for (int k = 0; k < n; ++k) {
    auto l = loss_of(ref, x.narrow(0, k * share, share), y.narrow(0, k * share, share), k == 0);
    (l / n).backward();
  }

  GradientReducerOptions opts;
  opts.bucket_cap_bytes = 2048;  // several buckets on this small net
  opts.gradient_as_bucket_view = g_bucket_view;
  GradientReducer reducer(net.parameters(), c.shared_process_group(), opts);
  CHECK_OR_FAIL(reducer.num_buckets() >= 3, "buckets " + std::to_string(reducer.num_buckets()));

  auto xs = x.narrow(0, r * share, share), ys = y.narrow(0, r * share, share);
  // Two optimizer steps' worth of gradients (no update in between, so both must match the
  // reference); the second starts from grads zeroed in place, as an optimizer's zero_grad
  // without set_to_none does (with bucket views: accumulation straight into the buckets).
  for (int step = 0; step < 2; ++step) {
    if (step == 1)
      for (auto& p : net.parameters())
        if (p.grad().defined()) p.mutable_grad().zero_();
    // Accumulation: two micro-steps of share/2, the first without communication.
    const int64_t issued_before = g.collectives_issued();
    reducer.set_sync(false);
    (loss_of(net, xs.narrow(0, 0, share / 2), ys.narrow(0, 0, share / 2), r == 0) / 2)
        .backward();
    reducer.finish();
    CHECK_OR_FAIL(g.collectives_issued() == issued_before,
                  "non-sync micro-step issued " +
                      std::to_string(g.collectives_issued() - issued_before) + " collectives");
    reducer.set_sync(true);
    (loss_of(net, xs.narrow(0, share / 2, share / 2), ys.narrow(0, share / 2, share / 2),
             r == 0) / 2).backward();
    reducer.finish();
    const auto& stats = reducer.last_stats();
    CHECK_OR_FAIL(stats.buckets == reducer.num_buckets(), "every bucket reduced once");
    CHECK_OR_FAIL(g.collectives_issued() - issued_before == reducer.num_buckets(),
                  "one allreduce per bucket");
    CHECK_OR_FAIL(stats.launched_in_backward > 0, "no bucket started during backward");

    auto got = net.named_parameters();
    auto want = ref.named_parameters();
    double worst = 0;
    for (auto& item : got) {
      const at::Tensor& w = want[item.key()].grad();
      at::Tensor expected = w.defined() ? w : at::zeros_like(item.value());
      CHECK_OR_FAIL(item.value().grad().defined(), "grad of " + item.key() + " undefined");
      worst = std::max(worst, max_diff(item.value().grad(), expected));
    }
    std::printf("rank %d step %d reducer max abs diff %.3g over %lld buckets%s\n", r, step,
                worst, static_cast<long long>(reducer.num_buckets()),
                g_bucket_view ? " (grads as bucket views)" : "");
    CHECK_OR_FAIL(worst <= 1e-5, "2 ranks x half batch != 1 rank x full batch");
    // With bucket views, grads of one bucket share its storage; without, none do.
    auto params = net.parameters();
    for (const auto& bucket : reducer.bucket_layout()) {
      if (bucket.size() < 2) continue;
      bool shared = params[bucket[0]].grad().storage().is_alias_of(
          params[bucket[1]].grad().storage());
      CHECK_OR_FAIL(shared == g_bucket_view, "grad storage sharing does not match the option");
    }
  }
}

// Rank 1 freezes one parameter: the reducers' layouts differ and construction must say so.
void scenario_reducer_mismatch(Cluster& c) {
  Net net;
  if (c.rank() == 1) net.fc1->bias.set_requires_grad(false);
  GradientReducer reducer(net.parameters(), c.shared_process_group());
}

void loop_allreduces(Cluster& c, int victim, int iterations_before, const std::string& how) {
  ProcessGroup& g = c.process_group();
  auto t = at::ones({256});
  for (long i = 0;; ++i) {
    if (c.rank() == victim && i == iterations_before) {
      std::printf("DYING rank %d at %lld by %s\n", c.rank(), epoch_ms(), how.c_str());
      std::fflush(stdout);
      if (how == "kill") std::raise(SIGKILL);
      if (how == "stop") std::raise(SIGSTOP);
      if (how == "throw") throw std::runtime_error("injected failure on rank " +
                                                   std::to_string(c.rank()));
      if (how == "idle") std::this_thread::sleep_for(std::chrono::seconds(120));
    }
    g.allreduce(t, ReduceOp::kAvg);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (i > 200000) throw std::runtime_error("the failure was never detected");
  }
}

void scenario_single(Cluster& c) {
  CHECK_OR_FAIL(c.world_size() == 1 && c.rank() == 0, "world");
  // Without a launcher: no MPI at all; with --mpi on: OpenMPI's singleton init, MPI backend.
  const std::string expected = c.topology().mpi ? "mpi" : "single";
  CHECK_OR_FAIL(c.process_group().backend_name() == expected, c.process_group().backend_name());
  auto t = at::full({4}, 3.0f);
  c.process_group().allreduce(t, ReduceOp::kAvg);
  CHECK_OR_FAIL(t.eq(3.0f).all().item<bool>(), "identity");
  auto s = c.process_group().allgather_strings("localhost:9100");
  CHECK_OR_FAIL(s.size() == 1 && s[0] == "localhost:9100", "strings");
  Net net;
  broadcast_module_state(net, c.process_group());
  GradientReducer reducer(net.parameters(), c.shared_process_group());
  auto x = at::randn({2, 3, 8, 8});
  auto y = at::zeros({2}, at::kLong);
  loss_of(net, x, y, true).backward();
  auto before = net.fc1->weight.grad().clone();
  reducer.finish();
  CHECK_OR_FAIL(max_diff(before, net.fc1->weight.grad()) == 0, "world-1 reduce changed grads");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: cluster_worker collectives|reducer|reducer-mismatch|single|fail-kill|fail-stop|"
                 "fail-throw|fail-idle [--victim R] [--bucket-view 0|1] [--peer-timeout-ms N] [--heartbeat-ms N] "
                 "[--collective-timeout-ms N] [--mpi auto|on|off]\n");
    return 2;
  }
  std::string scenario = argv[1];
  int victim = 1;
  ClusterOptions options;
  options.threads_per_rank = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    long value = std::atol(argv[i + 1]);
    if (key == "--peer-timeout-ms") options.peer_timeout = std::chrono::milliseconds(value);
    else if (key == "--heartbeat-ms") options.heartbeat_interval = std::chrono::milliseconds(value);
    else if (key == "--collective-timeout-ms")
      options.collective_timeout = std::chrono::milliseconds(value);
    else if (key == "--mpi") options.mpi = argv[i + 1];
    else if (key == "--victim") victim = static_cast<int>(value);
    else if (key == "--bucket-view") g_bucket_view = value != 0;
    else {
      std::fprintf(stderr, "cluster_worker: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  try {
    auto cluster = Cluster::start(options, &argc, &argv);
    g_rank = cluster->rank();
    if (scenario == "collectives") scenario_collectives(*cluster);
    else if (scenario == "reducer") scenario_reducer(*cluster);
    else if (scenario == "single") scenario_single(*cluster);
    else if (scenario == "reducer-mismatch") scenario_reducer_mismatch(*cluster);
    else if (scenario == "fail-kill") loop_allreduces(*cluster, victim, 20, "kill");
    else if (scenario == "fail-stop") loop_allreduces(*cluster, victim, 20, "stop");
    else if (scenario == "fail-throw") loop_allreduces(*cluster, victim, 20, "throw");
    else if (scenario == "fail-idle") loop_allreduces(*cluster, victim, 20, "idle");
    else throw std::invalid_argument("unknown scenario " + scenario);
    cluster->shutdown();
    std::printf("OK %s rank %d\n", scenario.c_str(), g_rank);
    return 0;
  } catch (const std::exception& e) {
    std::printf("FAIL rank %d: %s\n", g_rank, e.what());
    std::fflush(stdout);
    return 1;
  }
}
