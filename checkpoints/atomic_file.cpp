// See atomic_file.h. Plain POSIX calls rather than std::filesystem copies: the torch wheel's
// libtorch.so exports its own std::filesystem symbols (docs/architecture.md, build notes).
#include "checkpoints/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace wildreid::checkpoints {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what + " (" + std::strerror(errno) + ")");
}

void write_all(int fd, const char* data, size_t n, const fs::path& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, "write failed");
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

fs::path temporary_sibling(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.empty() ? "." : path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, "cannot open to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail(path, "fsync failed");
}

void commit_file(const fs::path& from, const fs::path& to) {
  fsync_path(from);
  if (std::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename " + from.string() + " to it");
  fsync_path(to.parent_path());
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = temporary_sibling(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(tmp, "cannot create");
  try {
    write_all(fd, text.data(), text.size(), tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  try {
    commit_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void copy_file_synced(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY);
  if (in < 0) fail(from, "cannot open");
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0) {
    ::close(in);
    fail(to, "cannot create");
  }
  std::vector<char> buffer(1 << 22);
  try {
    for (;;) {
      const ssize_t r = ::read(in, buffer.data(), buffer.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(from, "read failed");
      }
      if (r == 0) break;
      write_all(out, buffer.data(), static_cast<size_t>(r), to);
    }
    if (::fsync(out) != 0) fail(to, "fsync failed");
  } catch (...) {
    ::close(in);
    ::close(out);
    throw;
  }
  ::close(in);
  ::close(out);
}

}  // namespace wildreid::checkpoints
