// timm create_model kwargs that override an architecture (ModelOptions::arch_overrides, a JSON
// object), read by each family's config. Every key must be consumed: finish() throws naming the
// model and the keys nobody used, so a fixture built with a kwarg we do not model cannot pass
// silently with a different network.
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wildreid::models {

class ArchOverrides {
 public:
  // Throws std::runtime_error naming `model` if `json` is not empty and not a JSON object.
  ArchOverrides(const std::string& json, const std::string& model);
  ~ArchOverrides();
  void read(const std::string& key, int64_t& value);
  void read(const std::string& key, double& value);
  void read(const std::string& key, bool& value);
  void read(const std::string& key, std::vector<int64_t>& value);
  // Throws when a key was never read.
  void finish() const;

 private:
  struct Json;
  std::unique_ptr<Json> json_;
  std::string model_;
  std::set<std::string> used_;
};

}  // namespace wildreid::models
