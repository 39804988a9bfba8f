// Name-based weight transfer between safetensors maps and modules (see module_weights.h).
#include "checkpoints/module_weights.h"

#include <ATen/ATen.h>

#include <set>
#include <sstream>

#include "checkpoints/safetensors.h"
#include "checkpoints/weights_file.h"

namespace wildreid::checkpoints {
namespace {

bool has_prefix(const std::string& s, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (s.rfind(p, 0) == 0) return true;
  return false;
}
bool has_suffix(const std::string& s, const std::vector<std::string>& suffixes) {
  for (const auto& x : suffixes)
    if (s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) return true;
  return false;
}
std::string shape_str(at::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

}  // namespace

std::string LoadReport::describe() const {
  std::ostringstream o;
  o << loaded.size() << " loaded, " << missing.size() << " missing, " << unexpected.size() << " unexpected, "
    << mismatched.size() << " shape-mismatched, " << ignored.size() << " ignored";
  for (const auto& k : missing) o << "\n  missing: " << k;
  for (const auto& k : unexpected) o << "\n  unexpected: " << k;
  for (const auto& k : mismatched) o << "\n  shape mismatch: " << k;
  return o.str();
}

std::vector<std::pair<std::string, at::Tensor>> module_state(
    const torch::nn::Module& module, const std::vector<std::string>& non_persistent_suffixes) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true))
    if (!has_suffix(b.key(), non_persistent_suffixes)) out.emplace_back(b.key(), b.value());
  return out;
}

LoadReport load_weights(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                        const LoadOptions& options, const std::string& source,
                        const std::vector<std::string>& non_persistent_suffixes) {
  LoadReport report;
  auto state = module_state(module, non_persistent_suffixes);
  std::set<std::string> seen;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // destination, source
  for (auto& [name, dst] : state) {
    seen.insert(name);
    if (has_prefix(name, options.ignore_prefixes)) {
      report.ignored.push_back(name);
      continue;
    }
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      report.missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != dst.sizes()) {
      report.mismatched.push_back(name + ": file " + shape_str(it->second.sizes()) + " vs module " +
                                  shape_str(dst.sizes()));
      continue;
    }
    copies.emplace_back(dst, it->second);
    report.loaded.push_back(name);
  }
  for (const auto& [name, t] : tensors) {
    if (seen.count(name)) continue;
    if (has_prefix(name, options.ignore_prefixes) || has_suffix(name, options.skip_suffixes)) {
      report.ignored.push_back(name);
      continue;
    }
    report.unexpected.push_back(name);
  }
  if (options.strict && !report.ok())
    throw std::runtime_error("loading " + source + ": " + report.describe());
  at::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return report;
}

LoadReport load_weights_file(torch::nn::Module& module, const std::filesystem::path& path,
                             const LoadOptions& options, const std::vector<std::string>& non_persistent_suffixes) {
  return load_weights(module, read_weights_file(path), options, "'" + path.string() + "'", non_persistent_suffixes);
}

void save_module(const torch::nn::Module& module, const std::filesystem::path& path,
                 const std::map<std::string, std::string>& metadata,
                 const std::vector<std::string>& non_persistent_suffixes) {
  save_safetensors(path, module_state(module, non_persistent_suffixes), metadata);
}

}  // namespace wildreid::checkpoints
