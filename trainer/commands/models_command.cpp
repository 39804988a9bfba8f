// `trainer models`: lists every registered architecture with its timm name (default pretrained
// tag), input size, embedding width and parameter count. Counting creates each model with
// uninitialised parameters (models/layers.h), so the listing takes seconds even for MaxViT-XL.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "models/registry.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {

void add_models(CLI::App& app) {
  auto num_classes = std::make_shared<int64_t>(1000);
  auto* cmd = app.add_subcommand(
      "models",
      "List the supported backbones, one per line: timm name with its default pretrained tag (the bare name "
      "is accepted too), input size, embedding size, parameter count in millions (with the classifier).");
  cmd->add_option("--num-classes", *num_classes, "Classifier width used for the parameter count (0 = no classifier)")
      ->capture_default_str();
  cmd->callback([num_classes] {
    std::printf("%-48s %6s %6s %10s\n", "name", "input", "embed", "params");
    for (const auto& entry : models::registry().entries()) {
      const auto& s = entry.spec;
      std::printf("%-48s %6lld %6lld %10s\n", s.name.c_str(), static_cast<long long>(s.input_size),
                  static_cast<long long>(s.embed_dim),
                  models::format_millions(models::count_parameters(s.name, *num_classes)).c_str());
    }
  });
}

}  // namespace wildreid::commands
