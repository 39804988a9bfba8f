// rename(2) of a folder is atomic on one filesystem, which is why the staging folder lives in the
// destination's parent and not in /tmp. Replacing an existing output moves it aside first.
#include "data/staging_dir.h"

#include "data/remove_tree.h"

#include <unistd.h>

#include <stdexcept>
#include <system_error>

namespace wildreid::data {
namespace {

// ".<name><tag><pid>". Built with append: GCC 12 warns falsely (-Wstringop-overflow) on the
// equivalent chain of operator+.
std::string hidden_sibling_name(const std::filesystem::path& destination, const char* tag) {
  std::string name(".");
  name.append(destination.filename().string()).append(tag).append(std::to_string(::getpid()));
  return name;
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
