// RunMonitor: metric updates on every rank; console progress, JSONL and targets file on rank 0.
// Throughput and ETA come from wall time between on_step calls, so time outside the step
// (validation, checkpoints) is visible as lower images/s rather than hidden. The first step of a
// process carries start-up costs and has no previous step to measure from, so no rate exists
// until the second: the live line says "warming up" meanwhile, and a plain log line that falls
// due then is postponed to the first step with a rate (a one-step run's only line uses that
// step's own wall time), so no printed line says 0.0 img/s or ETA ?.
#include "monitoring/run_monitor.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "monitoring/exporter.h"
#include "monitoring/nvml_metrics.h"
#include "monitoring/process_metrics.h"
#include "monitoring/progress.h"
#include "monitoring/rank_registry.h"
#include "monitoring/run_files.h"
#include "monitoring/train_metrics.h"

#ifndef WILDREID_VERSION_STRING
#define WILDREID_VERSION_STRING "unknown"
#endif
#ifndef WILDREID_TORCH_VERSION_STRING
#define WILDREID_TORCH_VERSION_STRING "unknown"
#endif
#ifndef WILDREID_CUDA_VERSION_STRING
#define WILDREID_CUDA_VERSION_STRING "none"
#endif
#ifndef WILDREID_NCCL_VERSION_STRING
#define WILDREID_NCCL_VERSION_STRING "none"
#endif

namespace wildreid::monitoring {
namespace {

using Clock = std::chrono::steady_clock;

std::string host_name() {
  char buffer[256] = {0};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "unknown";
  return buffer;
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// nlohmann writes NaN/Inf as null, which is what a JSONL consumer should see for "no value".
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

struct RunMonitor::Impl {
  RunMonitorOptions options;
  RankRegistry registry;
  TrainMetrics metrics;
  ProcessMetrics process;
  std::unique_ptr<NvmlMetrics> nvml;    // CUDA runs with an exporter; destroyed after it
  std::unique_ptr<Exporter> exporter;
  std::optional<JsonlLog> jsonl;
  std::optional<ProgressPrinter> progress;
  bool closed = false;

  // rank-0 throughput state
  bool started = false;
  Clock::time_point first_step_time;
  int64_t first_step = 0;
  Clock::time_point window_start;
  int64_t window_images = 0;
  double images_per_second = -1;  // < 0 until two steps have ended in this process
  bool plain_line_due = false;     // a plain line fell due before a rate existed
  Clock::time_point last_live_draw;

  static prometheus::Labels constant_labels(const RunMonitorOptions& o) {
    return {{"job", o.job},
            {"rank", std::to_string(o.rank)},
            {"local_rank", std::to_string(o.local_rank)},
            {"node", o.node}};
  }

  explicit Impl(RunMonitorOptions o)
      : options(std::move(o)), registry(constant_labels(options)), metrics(registry),
        process(registry) {}
};

RunMonitor::RunMonitor(RunMonitorOptions options) {
  if (options.node.empty()) options.node = host_name();
  auto& b = options.build;
  if (b.version.empty()) b.version = WILDREID_VERSION_STRING;
  if (b.torch.empty()) b.torch = WILDREID_TORCH_VERSION_STRING;
  if (b.cuda.empty()) b.cuda = WILDREID_CUDA_VERSION_STRING;
  if (b.nccl.empty()) b.nccl = WILDREID_NCCL_VERSION_STRING;
  impl_ = std::make_unique<Impl>(std::move(options));
  auto& o = impl_->options;
  const auto& build = o.build;  // `options` has been moved into impl_
  register_build_info(impl_->registry, build.version, build.torch, build.cuda, build.nccl);
  impl_->metrics.total_steps.Set(static_cast<double>(o.total_steps));
  impl_->metrics.loss_scale.Set(1.0);

  if (o.port != 0) {
    ExporterOptions e;
    e.bind = o.bind;
    e.port = o.port + o.local_rank;
    e.port_fallback = o.port_fallback;
    int rank = o.rank;
    e.log = [rank](const std::string& m) { std::fprintf(stderr, "[rank %d] %s\n", rank, m.c_str()); };
    if (o.nvml.wanted()) {
      NvmlOptions n = o.nvml;
      if (!n.log) n.log = e.log;
      impl_->nvml = std::make_unique<NvmlMetrics>(impl_->registry, std::move(n));
    }
    e.before_scrape = [process = &impl_->process, nvml = impl_->nvml.get()] {
      process->refresh();
      if (nvml) nvml->refresh();
    };
    impl_->exporter = std::make_unique<Exporter>(impl_->registry, e);
  }
  if (o.is_rank0) {
    if (!o.run_dir.empty()) {
      std::filesystem::create_directories(o.run_dir);
      impl_->jsonl.emplace(o.run_dir / "metrics.jsonl");
    }
    bool live = o.progress == ProgressMode::kTty ||
                (o.progress == ProgressMode::kAuto && isatty(STDERR_FILENO));
    if (o.progress != ProgressMode::kOff) impl_->progress.emplace(stderr, live);
  }
}

RunMonitor::~RunMonitor() {
  try {
    close();
  } catch (...) {
  }
}

int RunMonitor::bound_port() const { return impl_->exporter ? impl_->exporter->port() : 0; }

std::string RunMonitor::scrape_target() const {
  if (!impl_->exporter) return "";
  const auto& bind = impl_->options.bind;
  std::string host = (bind.empty() || bind == "0.0.0.0" || bind == "::") ? impl_->options.node : bind;
  return host + ":" + std::to_string(impl_->exporter->port());
}

RankRegistry& RunMonitor::registry() { return impl_->registry; }

void RunMonitor::on_step(const StepStats& s) {
  auto& m = impl_->metrics;
  m.images.Increment(static_cast<double>(s.images));
  m.steps.Increment();
  m.loss.Set(s.loss);
  m.learning_rate.Set(s.lr);
  m.grad_norm.Set(s.grad_norm);
  m.loss_scale.Set(s.loss_scale);
  m.epoch.Set(static_cast<double>(s.epoch));
  m.step_seconds.Observe(s.step_seconds);
  m.phase_data_wait.Increment(s.phases.data_wait);
  m.phase_forward.Increment(s.phases.forward);
  m.phase_backward.Increment(s.phases.backward);
  m.phase_allreduce_wait.Increment(s.phases.allreduce_wait);
  m.phase_optimizer.Increment(s.phases.optimizer);
  if (s.skipped_nonfinite) m.skipped_nonfinite.Increment();
  m.decode_errors.Increment(static_cast<double>(s.new_decode_errors));
  m.prefetch_depth.Set(static_cast<double>(s.prefetch_depth));

  auto& o = impl_->options;
  if (!o.is_rank0) return;
  auto& st = *impl_;
  auto now = Clock::now();
  int64_t global = s.global_images > 0 ? s.global_images : s.images * o.world_size;
  if (!st.started) {
    // The first step includes start-up costs; rates are measured from its end.
    st.started = true;
    st.first_step_time = st.window_start = st.last_live_draw = now;
    st.first_step = s.step;
  } else {
    st.window_images += global;
    double window = seconds_between(st.window_start, now);
    if (window >= 1.0 || st.images_per_second < 0) {
      st.images_per_second = st.window_images / std::max(window, 1e-9);
      st.window_start = now;
      st.window_images = 0;
    }
  }
  bool last = o.total_steps > 0 && s.step >= o.total_steps;
  double rate = st.images_per_second;
  // A run whose last step is its first: that step's own time is the only measurement there is.
  if (rate < 0 && last && s.step_seconds > 0) rate = static_cast<double>(global) / s.step_seconds;
  double eta = -1;
  if (last) {
    eta = 0;
  } else if (o.total_steps > 0 && s.step > st.first_step) {
    double per_step = seconds_between(st.first_step_time, now) / double(s.step - st.first_step);
    eta = per_step * double(std::max<int64_t>(0, o.total_steps - s.step));
  }
  bool logged = last || (o.log_every_steps > 0 && s.step % o.log_every_steps == 0);

  if (st.progress) {
    ProgressSnapshot p{s.epoch, s.step, o.total_steps, rate, s.loss, s.lr, eta};
    bool live = o.progress == ProgressMode::kTty ||
                (o.progress == ProgressMode::kAuto && isatty(STDERR_FILENO));
    if (live) {
      if (last || s.step == st.first_step || seconds_between(st.last_live_draw, now) >= 0.25) {
        st.progress->update(p);
        st.last_live_draw = now;
      }
    } else if (logged || st.plain_line_due) {
      st.plain_line_due = rate < 0;  // no rate yet: print at the next step instead
      if (!st.plain_line_due) st.progress->update(p);
    }
  }
  if (st.jsonl && logged) {
    nlohmann::json j = {
        {"type", "step"},
        {"time", unix_time()},
        {"epoch", s.epoch},
        {"step", s.step},
        {"total_steps", o.total_steps},
        {"images", s.images},
        {"global_images", global},
        {"images_per_second", rate > 0 ? number(rate) : nlohmann::json()},  // null: not measured yet
        {"loss", number(s.loss)},
        {"lr", number(s.lr)},
        {"grad_norm", number(s.grad_norm)},
        {"loss_scale", number(s.loss_scale)},
        {"step_seconds", number(s.step_seconds)},
        {"phases",
         {{"data_wait", s.phases.data_wait},
          {"forward", s.phases.forward},
          {"backward", s.phases.backward},
          {"allreduce_wait", s.phases.allreduce_wait},
          {"optimizer", s.phases.optimizer}}},
        {"skipped_nonfinite_total", m.skipped_nonfinite.Value()},
        {"decode_errors_total", m.decode_errors.Value()},
        {"prefetch_depth", s.prefetch_depth},
    };
    st.jsonl->write_line(j.dump());
  }
}

void RunMonitor::on_validation(int64_t epoch, double loss, double accuracy) {
  impl_->metrics.validation_loss().Set(loss);
  impl_->metrics.validation_accuracy().Set(accuracy);
  if (!impl_->options.is_rank0) return;
  if (impl_->jsonl)
    impl_->jsonl->write_line(nlohmann::json{{"type", "validation"},
                                            {"time", unix_time()},
                                            {"epoch", epoch},
                                            {"loss", number(loss)},
                                            {"accuracy", number(accuracy)}}
                                 .dump());
  if (impl_->progress) {
    char line[160];
    std::snprintf(line, sizeof(line), "epoch %lld validation: loss %.4f accuracy %.4f",
                  static_cast<long long>(epoch), loss, accuracy);
    impl_->progress->message(line);
  }
}

void RunMonitor::on_epoch_end(int64_t epoch, double mean_loss) {
  if (!impl_->options.is_rank0 || !impl_->jsonl) return;
  impl_->jsonl->write_line(nlohmann::json{{"type", "epoch"},
                                          {"time", unix_time()},
                                          {"epoch", epoch},
                                          {"mean_loss", number(mean_loss)},
                                          {"steps_total", impl_->metrics.steps.Value()},
                                          {"images_total", impl_->metrics.images.Value()}}
                               .dump());
}

void RunMonitor::on_checkpoint(double write_seconds) {
  auto& m = impl_->metrics;
  m.checkpoint_writes.Increment();
  m.checkpoint_seconds.Increment(write_seconds);
  m.checkpoint_last_seconds.Set(write_seconds);
  if (impl_->options.is_rank0 && impl_->jsonl)
    impl_->jsonl->write_line(nlohmann::json{{"type", "checkpoint"},
                                            {"time", unix_time()},
                                            {"write_seconds", write_seconds}}
                                 .dump());
}

void RunMonitor::set_gpu_memory(const GpuMemory& memory) {
  impl_->metrics.gpu_allocated().Set(static_cast<double>(memory.allocated));
  impl_->metrics.gpu_reserved().Set(static_cast<double>(memory.reserved));
  impl_->metrics.gpu_peak_allocated().Set(static_cast<double>(memory.peak_allocated));
}

void RunMonitor::write_targets_file(const std::vector<std::string>& targets) {
  const auto& o = impl_->options;
  if (!o.is_rank0 || o.run_dir.empty()) return;
  std::filesystem::create_directories(o.run_dir);
  write_prometheus_targets(o.run_dir / "prometheus_targets.json", o.job, targets);
}

void RunMonitor::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  if (impl_->progress) impl_->progress->finish();
  if (impl_->exporter) {
    if (impl_->options.linger_seconds > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(impl_->options.linger_seconds));
    impl_->exporter->stop();
  }
  impl_->jsonl.reset();
}

}  // namespace wildreid::monitoring
