// Which checkpoint directories to keep: the newest K complete ones plus the best one (by
// validation accuracy, recorded in checkpoints_dir/BEST). Also removes .tmp-* directories a
// crashed writer left behind. Run by rank 0 after each successful save.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace wildreid::checkpoints {

// Records `name` as the best checkpoint (atomic write of checkpoints_dir/BEST).
void mark_best_checkpoint(const std::filesystem::path& checkpoints_dir, const std::string& name);
// The best checkpoint's directory, if one was marked and still exists.
std::optional<std::filesystem::path> best_checkpoint(const std::filesystem::path& checkpoints_dir);
// Deletes all but the newest keep_last complete checkpoints and the best; returns how many.
int apply_retention(const std::filesystem::path& checkpoints_dir, int keep_last);

}  // namespace wildreid::checkpoints
