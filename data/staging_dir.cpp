// rename(2) of a folder is atomic on one filesystem, which is why the staging folder lives in the
// destination's parent and not in /tmp. Replacing an existing output moves it aside first.
// Staging names carry host and pid, so a later run can remove the leftovers of a killed run on the
// same host (pid no longer alive) without touching a run in progress on another node.
#include "data/staging_dir.h"

#include "data/remove_tree.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <stdexcept>
#include <system_error>

namespace wildreid::data {
namespace {

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// ".<name><tag><host>-" (+ pid). Built with append: GCC 12 warns falsely (-Wstringop-overflow)
// on the equivalent chain of operator+.
std::string hidden_sibling_prefix(const std::filesystem::path& destination, const char* tag) {
  std::string name(".");
  name.append(destination.filename().string()).append(tag).append(host_name()).append("-");
  return name;
}

std::string hidden_sibling_name(const std::filesystem::path& destination, const char* tag) {
  return hidden_sibling_prefix(destination, tag).append(std::to_string(::getpid()));
}

// Removes staging folders of earlier runs on this host whose process is gone.
void remove_dead_staging(const std::filesystem::path& destination) {
  const std::string prefix = hidden_sibling_prefix(destination, ".tmp-");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(destination.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) remove_tree(entry.path());
  }
}

}  // namespace

StagingDir::StagingDir(std::filesystem::path destination, bool overwrite)
    : destination_(std::filesystem::absolute(destination).lexically_normal()), overwrite_(overwrite) {
  if (destination_.filename().empty()) destination_ = destination_.parent_path();
  if (std::filesystem::exists(destination_) && !overwrite_)
    throw std::runtime_error(destination_.string() + ": already exists (pass --overwrite to replace it)");
  const auto parent = destination_.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw std::runtime_error(parent.string() + ": cannot create: " + ec.message());
  remove_dead_staging(destination_);
  staging_ = parent / hidden_sibling_name(destination_, ".tmp-");
  remove_tree(staging_);
  if (!std::filesystem::create_directory(staging_, ec) || ec)
    throw std::runtime_error(staging_.string() + ": cannot create staging folder: " + ec.message());
}

StagingDir::~StagingDir() {
  if (!committed_) remove_tree(staging_);
}

void StagingDir::commit() {
  std::error_code ec;
  std::filesystem::path old;
  if (std::filesystem::exists(destination_)) {
    if (!overwrite_) throw std::runtime_error(destination_.string() + ": appeared while writing; not replaced");
    old = destination_.parent_path() / hidden_sibling_name(destination_, ".old-");
    std::filesystem::rename(destination_, old, ec);
    if (ec) throw std::runtime_error(destination_.string() + ": cannot move the old output aside: " + ec.message());
  }
  std::filesystem::rename(staging_, destination_, ec);
  if (ec) throw std::runtime_error(destination_.string() + ": cannot rename " + staging_.string() + ": " + ec.message());
  committed_ = true;
  if (!old.empty()) remove_tree(old);
}

}  // namespace wildreid::data
