// RunMonitor end to end on one process: what a scrape shows after on_step/on_validation/...,
// `promtool check metrics` on that real scrape, the JSONL log, the file_sd targets file and the
// progress line format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "monitoring/progress.h"
#include "monitoring/run_monitor.h"
#include "tests/monitoring/exposition_reader.h"
#include "tests/monitoring/http_test_client.h"

namespace wildreid::monitoring {
namespace {

namespace fs = std::filesystem;
using testing::free_loopback_port;
using testing::http_get;
using testing::sample_value;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/wildreid-monitor-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

StepStats step(int64_t n) {
  StepStats s;
  s.epoch = (n - 1) / 3;
  s.step = n;
  s.images = 8;
  s.loss = 2.0 / n;
  s.lr = 1e-4 * n;
  s.grad_norm = 0.5;
  s.loss_scale = 1024;
  s.phases = {0.01, 0.02, 0.03, 0.004, 0.005};
  s.step_seconds = 0.07;
  s.skipped_nonfinite = (n == 2);
  s.prefetch_depth = 3;
  s.new_decode_errors = (n == 4) ? 2 : 0;
  return s;
}

RunMonitorOptions loopback_options(const fs::path& run_dir) {
  RunMonitorOptions o;
  o.port = free_loopback_port();
  o.port_fallback = true;
  o.bind = "127.0.0.1";
  o.run_dir = run_dir;
  o.job = "unit";
  o.rank = 0;
  o.world_size = 2;
  o.node = "node-a";
  o.progress = ProgressMode::kOff;
  o.total_steps = 5;
  o.log_every_steps = 2;
  return o;
}

std::string run_command(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  *status = pclose(pipe);
  return out;
}

TEST(RunMonitor, ScrapeShowsEveryTrainingMetric) {
  TempDir dir;
  RunMonitor monitor(loopback_options(dir.path));
  ASSERT_GT(monitor.bound_port(), 0);
  EXPECT_EQ(monitor.scrape_target(), "127.0.0.1:" + std::to_string(monitor.bound_port()));
  for (int n = 1; n <= 5; ++n) monitor.on_step(step(n));
  monitor.on_validation(1, 0.9, 0.75);
  monitor.on_checkpoint(1.5);
  monitor.set_gpu_memory({1000, 2000, 1500});
  auto r = http_get(monitor.bound_port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string l = "{job=\"unit\",local_rank=\"0\",node=\"node-a\",rank=\"0\"}";
  auto v = [&](const std::string& series) { return sample_value(r.body, series); };
  EXPECT_EQ(v("wildreid_train_images_total" + l), 40);
  EXPECT_EQ(v("wildreid_train_steps_total" + l), 5);
  EXPECT_EQ(v("wildreid_train_loss" + l), 0.4);
  EXPECT_DOUBLE_EQ(v("wildreid_train_learning_rate" + l), 5e-4);
  EXPECT_EQ(v("wildreid_train_grad_norm" + l), 0.5);
  EXPECT_EQ(v("wildreid_train_loss_scale" + l), 1024);
  EXPECT_EQ(v("wildreid_train_epoch" + l), 1);
  EXPECT_EQ(v("wildreid_train_step_seconds_count" + l), 5);
  EXPECT_NEAR(v("wildreid_train_step_seconds_sum" + l), 0.35, 1e-12);
  EXPECT_NEAR(v("wildreid_train_phase_seconds_total{job=\"unit\",local_rank=\"0\",node=\"node-a\","
                "phase=\"backward\",rank=\"0\"}"), 0.15, 1e-12);
  EXPECT_NEAR(v("wildreid_train_phase_seconds_total{job=\"unit\",local_rank=\"0\",node=\"node-a\","
                "phase=\"allreduce_wait\",rank=\"0\"}"), 0.02, 1e-12);
  EXPECT_EQ(v("wildreid_train_nonfinite_skipped_steps_total" + l), 1);
  EXPECT_EQ(v("wildreid_data_decode_errors_total" + l), 2);
  EXPECT_EQ(v("wildreid_data_prefetch_queue_depth" + l), 3);
  EXPECT_EQ(v("wildreid_validation_loss" + l), 0.9);
  EXPECT_EQ(v("wildreid_validation_accuracy" + l), 0.75);
  EXPECT_EQ(v("wildreid_checkpoint_write_seconds_total" + l), 1.5);
  EXPECT_EQ(v("wildreid_gpu_memory_allocated_bytes" + l), 1000);
  EXPECT_EQ(v("wildreid_gpu_memory_reserved_bytes" + l), 2000);
  EXPECT_GT(v("wildreid_process_resident_memory_bytes" + l), 1e6);
  EXPECT_GE(v("wildreid_process_cpu_seconds_total" + l), 0);
  size_t info = r.body.find("\nwildreid_build_info{");
  ASSERT_NE(info, std::string::npos) << r.body;
  std::string info_line = r.body.substr(info + 1, r.body.find('\n', info + 1) - info - 1);
  for (const char* key : {"version", "torch", "cuda", "nccl"}) {
    EXPECT_NE(info_line.find(std::string(key) + "=\""), std::string::npos) << info_line;
    EXPECT_EQ(info_line.find(std::string(key) + "=\"\""), std::string::npos) << "empty " << key;
  }
  EXPECT_EQ(info_line.substr(info_line.size() - 2), " 1");
}

TEST(RunMonitor, PromtoolAcceptsARealScrape) {
  TempDir dir;
  RunMonitor monitor(loopback_options(dir.path));
  for (int n = 1; n <= 3; ++n) monitor.on_step(step(n));
  monitor.on_validation(0, 1.0, 0.5);
  monitor.set_gpu_memory({1, 2, 3});
  auto r = http_get(monitor.bound_port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  std::ofstream(dir.path / "scrape.txt") << r.body;
  int status = -1;
  std::string out = run_command("promtool check metrics < " + (dir.path / "scrape.txt").string() +
                                " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "") << out;  // no lint findings either
  // The check is real: promtool does flag a counter without _total and a malformed line.
  std::ofstream(dir.path / "bad.txt") << "# HELP wildreid_bad a\n# TYPE wildreid_bad counter\n"
                                         "wildreid_bad 1\n";
  std::string bad = run_command("promtool check metrics < " + (dir.path / "bad.txt").string() +
                                " 2>&1", &status);
  EXPECT_NE(bad.find("_total"), std::string::npos) << bad;
  std::ofstream(dir.path / "broken.txt") << "wildreid_x{a=\"unterminated} 1\n";
  run_command("promtool check metrics < " + (dir.path / "broken.txt").string() + " 2>&1", &status);
  EXPECT_NE(status, 0);
}

TEST(RunMonitor, JsonlHasOneObjectPerLoggedStepAndEpoch) {
  TempDir dir;
  {
    auto o = loopback_options(dir.path);
    o.port = 0;  // exporter off: files still written
    RunMonitor monitor(o);
    EXPECT_EQ(monitor.bound_port(), 0);
    EXPECT_EQ(monitor.scrape_target(), "");
    for (int n = 1; n <= 5; ++n) monitor.on_step(step(n));
    monitor.on_epoch_end(1, 0.5);
    monitor.on_validation(1, 0.9, 0.75);
    monitor.close();
  }
  std::ifstream in(dir.path / "metrics.jsonl");
  std::vector<nlohmann::json> records;
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 5u);  // steps 2, 4, 5 (last), epoch, validation
  EXPECT_EQ(records[0]["type"], "step");
  EXPECT_EQ(records[0]["step"], 2);
  EXPECT_EQ(records[1]["step"], 4);
  EXPECT_EQ(records[2]["step"], 5);
  EXPECT_EQ(records[2]["global_images"], 16);  // images x world_size
  EXPECT_EQ(records[1]["decode_errors_total"], 2);
  EXPECT_EQ(records[1]["skipped_nonfinite_total"], 1);
  EXPECT_DOUBLE_EQ(records[2]["phases"]["optimizer"].get<double>(), 0.005);
  EXPECT_EQ(records[3]["type"], "epoch");
  EXPECT_EQ(records[3]["images_total"], 40);
  EXPECT_EQ(records[4]["type"], "validation");
  EXPECT_EQ(records[4]["accuracy"], 0.75);
}

TEST(RunMonitor, OnlyRankZeroWritesFiles) {
  TempDir dir;
  auto o = loopback_options(dir.path);
  o.port = 0;
  o.rank = 1;
  o.is_rank0 = false;
  RunMonitor monitor(o);
  monitor.on_step(step(1));
  monitor.write_targets_file({"a:1", "b:2"});
  monitor.close();
  EXPECT_FALSE(fs::exists(dir.path / "metrics.jsonl"));
  EXPECT_FALSE(fs::exists(dir.path / "prometheus_targets.json"));
}

TEST(RunMonitor, TargetsFileIsFileSdWithRankLabels) {
  TempDir dir;
  auto o = loopback_options(dir.path);
  o.port = 0;
  RunMonitor monitor(o);
  monitor.write_targets_file({"127.0.0.1:9100", "", "127.0.0.1:9102"});
  std::ifstream in(dir.path / "prometheus_targets.json");
  auto groups = nlohmann::json::parse(in);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["targets"][0], "127.0.0.1:9100");
  EXPECT_EQ(groups[0]["labels"]["rank"], "0");
  EXPECT_EQ(groups[0]["labels"]["job"], "unit");
  EXPECT_EQ(groups[1]["targets"][0], "127.0.0.1:9102");
  EXPECT_EQ(groups[1]["labels"]["rank"], "2");
  for (const auto& entry : fs::directory_iterator(dir.path))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST(RunMonitor, LocalRankOffsetsThePortAndTakenPortFails) {
  auto o = loopback_options("");
  o.port_fallback = false;
  o.local_rank = 1;
  RunMonitor first(o);
  EXPECT_EQ(first.bound_port(), o.port + 1);
  try {
    RunMonitor second(o);
    ADD_FAILURE() << "second exporter on the same port started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(o.port + 1)), std::string::npos) << e.what();
  }
}

TEST(Progress, LineFormat) {
  ProgressSnapshot p{2, 120, 1000, 1234.56, 2.34567, 1e-4, 754};
  EXPECT_EQ(format_progress(p),
            "epoch 2 | step 120/1000 (12.0%) | 1234.6 img/s | loss 2.3457 | lr 1.000e-04 | ETA 0:12:34");
  // No rate measured yet, no ETA known: said in words / left out, never "0.0 img/s" or "ETA ?".
  ProgressSnapshot first{0, 1, 1000, -1, 6.9, 1e-6, -1};
  EXPECT_EQ(format_progress(first), "epoch 0 | step 1/1000 (0.1%) | warming up | loss 6.9000 | lr 1.000e-06");
  first.images_per_second = 0;
  EXPECT_NE(format_progress(first).find("| warming up |"), std::string::npos);
  p.total_steps = 0;
  p.eta_seconds = -1;
  EXPECT_EQ(format_progress(p).find("step 120 |"), 10u);  // after "epoch 2 | "
  EXPECT_EQ(format_progress(p).find("ETA"), std::string::npos);
  EXPECT_EQ(format_duration(3600 * 30 + 61), "30:01:01");
  EXPECT_EQ(format_duration(NAN), "?");
}

// Plain log lines with train.log_every = 1: step 1 has no rate yet (nothing to measure from), so
// its line is postponed and the first line printed is step 2's, with a rate and an ETA; its
// JSONL record says null rather than 0. A one-step run's only line uses that step's own time.
TEST(RunMonitor, FirstPlainLineHasARateAndAnEta) {
  TempDir dir;
  auto o = loopback_options(dir.path);
  o.port = 0;
  o.progress = ProgressMode::kPlain;
  o.log_every_steps = 1;
  ::testing::internal::CaptureStderr();
  {
    RunMonitor monitor(o);
    for (int n = 1; n <= 5; ++n) {
      monitor.on_step(step(n));
      usleep(20000);
    }
    monitor.close();
  }
  const std::string text = ::testing::internal::GetCapturedStderr();
  const auto first = text.substr(0, text.find('\n'));
  EXPECT_NE(first.find("| step 2/5 (40.0%) |"), std::string::npos) << text;
  const auto rate_end = first.find(" img/s");
  ASSERT_NE(rate_end, std::string::npos) << first;
  const auto rate_start = first.rfind("| ", rate_end) + 2;
  EXPECT_GT(std::stod(first.substr(rate_start, rate_end - rate_start)), 0.0) << first;
  EXPECT_NE(first.find("| ETA 0:00:0"), std::string::npos) << first;
  EXPECT_EQ(text.find("step 1/5"), std::string::npos) << text;
  EXPECT_EQ(text.find("0.0 img/s"), std::string::npos) << text;
  EXPECT_EQ(text.find("ETA ?"), std::string::npos) << text;
  EXPECT_EQ(text.find("warming up"), std::string::npos) << text;
  std::ifstream in(dir.path / "metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto step1 = nlohmann::json::parse(line);
  EXPECT_EQ(step1["step"], 1);
  EXPECT_TRUE(step1["images_per_second"].is_null()) << line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_GT(nlohmann::json::parse(line)["images_per_second"].get<double>(), 0.0) << line;

  auto single = o;
  single.run_dir = dir.path / "single";
  single.total_steps = 1;
  ::testing::internal::CaptureStderr();
  {
    RunMonitor monitor(single);
    monitor.on_step(step(1));  // 16 images in 0.07 s
    monitor.close();
  }
  const std::string only = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(only.find("| step 1/1 (100.0%) | 228.6 img/s |"), std::string::npos) << only;
  EXPECT_NE(only.find("| ETA 0:00:00"), std::string::npos) << only;
}

TEST(Progress, LiveLineIsRewrittenPlainLinesAreWhole) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  {
    ProgressPrinter live(out, true);
    live.update({0, 1, 2, 10, 1, 1, 1});
    live.update({0, 2, 2, 10, 1, 1, 0});
    live.message("validation");
    live.finish();
    ProgressPrinter plain(out, false);
    plain.update({0, 2, 2, 10, 1, 1, 0});
  }
  fclose(out);
  std::string text(buffer, size);
  free(buffer);
  EXPECT_EQ(text.rfind("\repoch 0 | step 1/2", 0), 0u) << text;
  EXPECT_NE(text.find("\033[K\repoch 0 | step 2/2"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\033[Kvalidation\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Z] epoch 0 | step 2/2 (100.0%)"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace wildreid::monitoring
