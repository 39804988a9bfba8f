// JSONL appends and the atomic file_sd write (temp + fsync + rename, as checkpoints do).
#include "monitoring/run_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace wildreid::monitoring {

JsonlLog::JsonlLog(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "a");
  if (!file_)
    throw std::runtime_error("cannot open metrics log " + path.string() + ": " + std::strerror(errno));
}

JsonlLog::~JsonlLog() {
  if (file_) std::fclose(file_);
}

void JsonlLog::write_line(const std::string& json_object) {
  std::string line = json_object + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw std::runtime_error("cannot write metrics log " + path_.string() + ": " + std::strerror(errno));
}

void write_prometheus_targets(const std::filesystem::path& path, const std::string& job,
                              const std::vector<std::string>& targets) {
  nlohmann::json groups = nlohmann::json::array();
  for (size_t rank = 0; rank < targets.size(); ++rank) {
    if (targets[rank].empty()) continue;
    groups.push_back({{"targets", {targets[rank]}},
                      {"labels", {{"job", job}, {"rank", std::to_string(rank)}}}});
  }
  std::string text = groups.dump(2) + "\n";
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + temp.string() + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw std::runtime_error("cannot write " + temp.string() + ": " + std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot sync " + temp.string() + ": " + std::strerror(errno));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot rename " + temp.string() + " to " + path.string() + ": " +
                             std::strerror(err));
  }
}

}  // namespace wildreid::monitoring
