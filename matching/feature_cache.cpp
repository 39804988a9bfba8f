// See feature_cache.h. Part layout (one row per image in the index, one row per keypoint in the
// feature datasets):
//   attributes: format = "wildreid-local-features", version = 1, extractor (canonical text),
//               descriptor_dim
//   image_id S<n>, offset i64, count i64, width i64, height i64          [images]
//   keypoints f32 [K, 2], descriptors f32 [K, D], scores f32 [K]          [keypoints]
//   scales f32 [K], oris f32 [K]                                          (SIFT only)
#include "matching/feature_cache.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/hdf5_handle.h"

namespace wildreid::matching {
namespace {

constexpr const char* kFormat = "wildreid-local-features";
constexpr int64_t kVersion = 1;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct FeatureCache::Part {
  std::filesystem::path path;
  data::hdf5::Handle file;
};

std::string config_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

FeatureCache::FeatureCache(const std::filesystem::path& root, const ExtractorOptions& options)
    : config_(canonical_text(options)), dim_(descriptor_dim(options)), scale_ori_(!is_aliked(options)) {
  folder_ = root / ("local-features-" + config_hash(config_));
  std::filesystem::create_directories(folder_);
  const auto text_path = folder_ / "extractor.txt";
  if (std::filesystem::exists(text_path)) {
    if (read_text(text_path) != config_ + "\n")
      throw std::runtime_error("feature cache " + folder_.string() + " belongs to another extractor configuration ('" +
                               read_text(text_path) + "'); remove it");
  } else {
    std::ofstream(text_path) << config_ << "\n";
  }
  std::vector<std::filesystem::path> parts;
  for (const auto& entry : std::filesystem::directory_iterator(folder_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("part-", 0) == 0 && entry.path().extension() == ".h5") parts.push_back(entry.path());
  }
  std::sort(parts.begin(), parts.end());
  for (const auto& p : parts) index_part(p);
}

FeatureCache::~FeatureCache() = default;

void FeatureCache::index_part(const std::filesystem::path& path) {
  namespace h5 = data::hdf5;
  const std::string where = path.string();
  auto part = std::make_unique<Part>(Part{path, h5::open_file_readonly(where)});
  const hid_t f = part->file.get();
  if (!h5::has_attribute(f, "format") || h5::read_attribute_string(f, "format", where) != kFormat)
    throw std::runtime_error(where + ": not a wildreid local-feature cache part");
  if (h5::read_attribute_i64(f, "version", where) != kVersion)
    throw std::runtime_error(where + ": cache part version " + std::to_string(h5::read_attribute_i64(f, "version", where)) +
                             ", this build reads " + std::to_string(kVersion));
  if (h5::read_attribute_string(f, "extractor", where) != config_)
    throw std::runtime_error(where + ": written for extractor '" + h5::read_attribute_string(f, "extractor", where) +
                             "', expected '" + config_ + "'");
  const auto ids = h5::read_strings(f, "image_id", where);
  const auto offset = h5::read_i64(f, "offset", where), count = h5::read_i64(f, "count", where);
  const auto width = h5::read_i64(f, "width", where), height = h5::read_i64(f, "height", where);
  if (offset.size() != ids.size() || count.size() != ids.size() || width.size() != ids.size() ||
      height.size() != ids.size())
    throw std::runtime_error(where + ": index columns have different lengths");
  const size_t number = parts_.size();
  for (size_t i = 0; i < ids.size(); ++i) index_[ids[i]] = {number, offset[i], count[i], width[i], height[i]};
  parts_.push_back(std::move(part));
}

LocalFeatures FeatureCache::read(const std::string& image_id) const {
  namespace h5 = data::hdf5;
  auto it = index_.find(image_id);
  if (it == index_.end()) throw std::runtime_error("feature cache " + folder_.string() + " has no image '" + image_id + "'");
  const Location& at = it->second;
  const Part& part = *parts_[at.part];
  const std::string where = part.path.string() + " (image '" + image_id + "')";
  const hid_t f = part.file.get();
  LocalFeatures out = empty_features(dim_, at.width, at.height, scale_ori_);
  out.keypoints = at::empty({at.count, 2}, at::kFloat);
  out.descriptors = at::empty({at.count, dim_}, at::kFloat);
  out.scores = at::empty({at.count}, at::kFloat);
  if (h5::matrix_shape(f, "descriptors", where)[1] != static_cast<size_t>(dim_))
    throw std::runtime_error(where + ": descriptors are not " + std::to_string(dim_) + "-D");
  h5::read_f32_rows(f, "keypoints", at.offset, at.count, out.keypoints.data_ptr<float>(), where);
  h5::read_f32_rows(f, "descriptors", at.offset, at.count, out.descriptors.data_ptr<float>(), where);
  h5::read_f32_rows(f, "scores", at.offset, at.count, out.scores.data_ptr<float>(), where);
  if (scale_ori_) {
    out.scales = at::empty({at.count}, at::kFloat);
    out.oris = at::empty({at.count}, at::kFloat);
    h5::read_f32_rows(f, "scales", at.offset, at.count, out.scales.data_ptr<float>(), where);
    h5::read_f32_rows(f, "oris", at.offset, at.count, out.oris.data_ptr<float>(), where);
  }
  check_features(out, where);
  return out;
}

void FeatureCache::append(const std::vector<std::pair<std::string, LocalFeatures>>& entries) {
  namespace h5 = data::hdf5;
  std::vector<std::string> ids;
  std::vector<int64_t> offset, count, width, height;
  std::vector<at::Tensor> kpts, desc, scores, scales, oris;
  int64_t total = 0;
  for (const auto& [id, f] : entries) {
    if (contains(id) || std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    check_features(f, "image '" + id + "'");
    if (f.dim() != dim_ && f.size() > 0)
      throw std::invalid_argument("image '" + id + "': " + std::to_string(f.dim()) + "-D descriptors for a " +
                                  std::to_string(dim_) + "-D cache");
    ids.push_back(id);
    offset.push_back(total);
    count.push_back(f.size());
    width.push_back(f.width);
    height.push_back(f.height);
    kpts.push_back(f.keypoints);
    desc.push_back(f.descriptors.reshape({-1, dim_}));
    scores.push_back(f.scores);
    if (scale_ori_) {
      scales.push_back(f.scales.defined() ? f.scales : at::zeros({f.size()}));
      oris.push_back(f.oris.defined() ? f.oris : at::zeros({f.size()}));
    }
    total += f.size();
  }
  if (ids.empty()) return;
  auto cat = [](const std::vector<at::Tensor>& v, at::IntArrayRef empty_shape) {
    return v.empty() ? at::zeros(empty_shape, at::kFloat) : at::cat(v, 0).to(at::kFloat).contiguous();
  };
  const std::string tmp = (folder_ / (".part-" + std::to_string(::getpid()) + ".tmp")).string();
  {
    auto file = h5::create_file(tmp);
    const hid_t f = file.get();
    h5::write_attribute_string(f, "format", kFormat, tmp);
    h5::write_attribute_i64(f, "version", kVersion, tmp);
    h5::write_attribute_string(f, "extractor", config_, tmp);
    h5::write_attribute_i64(f, "descriptor_dim", dim_, tmp);
    h5::write_strings(f, "image_id", ids, tmp);
    h5::write_i64(f, "offset", offset, tmp);
    h5::write_i64(f, "count", count, tmp);
    h5::write_i64(f, "width", width, tmp);
    h5::write_i64(f, "height", height, tmp);
    at::Tensor k = cat(kpts, {0, 2}), d = cat(desc, {0, dim_}), s = cat(scores, {0});
    h5::write_f32_matrix(f, "keypoints", k.data_ptr<float>(), total, 2, tmp);
    h5::write_f32_matrix(f, "descriptors", d.data_ptr<float>(), total, dim_, tmp);
    h5::write_f32(f, "scores", s.data_ptr<float>(), total, tmp);
    if (scale_ori_) {
      at::Tensor sc = cat(scales, {0}), o = cat(oris, {0});
      h5::write_f32(f, "scales", sc.data_ptr<float>(), total, tmp);
      h5::write_f32(f, "oris", o.data_ptr<float>(), total, tmp);
    }
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw std::runtime_error(tmp + ": cannot flush");
  }
  // link() fails when the name exists: the next free part number wins, nothing is overwritten.
  for (int n = static_cast<int>(parts_.size());; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "part-%05d.h5", n);
    const auto final_path = folder_ / name;
    if (::link(tmp.c_str(), final_path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      index_part(final_path);
      return;
    }
    if (errno != EEXIST) {
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot create cache part " + final_path.string());
    }
    if (std::find_if(parts_.begin(), parts_.end(), [&](const auto& p) { return p->path == final_path; }) ==
        parts_.end())
      index_part(final_path);  // written by another run meanwhile: use it too
  }
}

}  // namespace wildreid::matching
