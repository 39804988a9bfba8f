// See retention.h.
#include "checkpoints/retention.h"

#include "checkpoints/atomic_file.h"
#include "checkpoints/training_state.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace wildreid::checkpoints {
namespace fs = std::filesystem;

void mark_best_checkpoint(const fs::path& checkpoints_dir, const std::string& name) {
  write_file_atomically(checkpoints_dir / "BEST", name + "\n");
}

std::optional<fs::path> best_checkpoint(const fs::path& checkpoints_dir) {
  std::ifstream in(checkpoints_dir / "BEST");
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return std::nullopt;
  const fs::path dir = checkpoints_dir / name;
  if (!fs::is_directory(dir)) return std::nullopt;
  return dir;
}

int apply_retention(const fs::path& checkpoints_dir, int keep_last) {
  if (!fs::is_directory(checkpoints_dir)) return 0;
  const auto best = best_checkpoint(checkpoints_dir);
  std::vector<fs::path> complete;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (name.rfind(".tmp-", 0) == 0) {
      remove_tree(entry.path());
      ++removed;
    } else if (name.rfind("step-", 0) == 0) {
      complete.push_back(entry.path());
    }
  }
  std::sort(complete.begin(), complete.end());
  const int excess = static_cast<int>(complete.size()) - keep_last;
  for (int i = 0; i < excess; ++i) {
    if (best && complete[i].filename() == best->filename()) continue;
    remove_tree(complete[i]);
    ++removed;
  }
  return removed;
}

}  // namespace wildreid::checkpoints
