// An output folder built under a temporary name next to its destination and renamed into place
// only by commit(): an interrupted synth or pack leaves at most a hidden
// ".<name>.tmp-<host>-<pid>" folder, never a complete-looking output (the next run on that host
// removes it once the pid is gone). Destroying an uncommitted StagingDir removes it.
#pragma once
#include <filesystem>

namespace wildreid::data {

class StagingDir {
 public:
  // Throws when `destination` exists and `overwrite` is false, or the parent is not writable.
  StagingDir(std::filesystem::path destination, bool overwrite);
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  ~StagingDir();

  const std::filesystem::path& path() const { return staging_; }
  // Renames the staging folder to the destination (replacing an old one when overwriting).
  void commit();

 private:
  std::filesystem::path destination_, staging_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace wildreid::data
