// See label_names.h.
#include "trainer/label_names.h"

#include <stdexcept>

#include "checkpoints/label_names.h"
#include "data/manifest.h"

namespace wildreid::trainer {

std::map<std::string, std::string> label_names_metadata_of(const std::filesystem::path& shards_dir) {
  const std::filesystem::path path = shards_dir / "manifest.json";
  const data::Manifest manifest = data::read_manifest(path);
  std::vector<checkpoints::LabelName> names(manifest.labels.size());
  for (const auto& entry : manifest.labels) {
    if (entry.label < 0 || static_cast<size_t>(entry.label) >= names.size())
      throw std::runtime_error(path.string() + ": label " + std::to_string(entry.label) + " outside 0.." +
                               std::to_string(names.size() - 1));
    names[static_cast<size_t>(entry.label)] = {entry.dataset, entry.identity};
  }
  return checkpoints::label_names_metadata(names);
}

}  // namespace wildreid::trainer
