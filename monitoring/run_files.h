// The two files a run leaves for offline use: RUN_DIR/metrics.jsonl (one JSON object per logged
// step or epoch, appended whole line by line so a crash never leaves half a record before the
// last newline) and RUN_DIR/prometheus_targets.json (Prometheus file_sd, replaced atomically so
// Prometheus never reads a half-written list).
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace wildreid::monitoring {

class JsonlLog {
 public:
  // Appends to `path` (a resumed run continues the same log); throws naming the file.
  explicit JsonlLog(const std::filesystem::path& path);
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;
  // One serialized JSON object (no newline inside); written with its newline and flushed.
  void write_line(const std::string& json_object);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// One file_sd group per rank: {"targets":["host:port"],"labels":{"job":job,"rank":"r"}}.
// Empty targets are skipped. Written to a temp name in the same directory, fsynced, renamed.
void write_prometheus_targets(const std::filesystem::path& path, const std::string& job,
                              const std::vector<std::string>& targets);

}  // namespace wildreid::monitoring
