// Header parsing and validation for safetensors (see safetensors_format.h). Uses nlohmann::json
// with exceptions disabled at the parse step (parse(..., allow_exceptions=false)) so a malformed
// header becomes a SafetensorsError, and checks every size with overflow-safe arithmetic.
#include "checkpoints/safetensors_format.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace wildreid::checkpoints {
namespace {

struct DtypeInfo {
  SafeDtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {SafeDtype::BOOL, "BOOL", 1},     {SafeDtype::U8, "U8", 1},
    {SafeDtype::I8, "I8", 1},         {SafeDtype::F8_E5M2, "F8_E5M2", 1},
    {SafeDtype::F8_E4M3, "F8_E4M3", 1}, {SafeDtype::I16, "I16", 2},
    {SafeDtype::U16, "U16", 2},       {SafeDtype::F16, "F16", 2},
    {SafeDtype::BF16, "BF16", 2},     {SafeDtype::I32, "I32", 4},
    {SafeDtype::U32, "U32", 4},       {SafeDtype::F32, "F32", 4},
    {SafeDtype::F64, "F64", 8},       {SafeDtype::I64, "I64", 8},
    {SafeDtype::U64, "U64", 8},
};

// The reference implementation caps the header at 100 MB; so do we, to refuse absurd lengths early.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw SafetensorsError("safetensors file '" + file + "': " + what);
}
[[noreturn]] void fail_tensor(const std::string& file, const std::string& tensor, const std::string& what) {
  fail(file, "tensor '" + tensor + "': " + what);
}

TensorEntry parse_entry(const std::string& file, const std::string& name, const nlohmann::json& v) {
  if (!v.is_object()) fail_tensor(file, name, "entry is not a JSON object");
  TensorEntry e;
  e.name = name;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail_tensor(file, name, "missing or non-string \"dtype\"");
  if (!parse_dtype(dt->get<std::string>(), e.dtype))
    fail_tensor(file, name, "unknown dtype \"" + dt->get<std::string>() + "\"");
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) fail_tensor(file, name, "missing or non-array \"shape\"");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) fail_tensor(file, name, "shape entry is not a non-negative integer");
    uint64_t dim = d.get<uint64_t>();
    if (dim > (1ull << 62)) fail_tensor(file, name, "shape entry too large");
    if (dim != 0 && numel > (1ull << 62) / dim) fail_tensor(file, name, "shape overflows");
    numel *= dim;
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    fail_tensor(file, name, "\"data_offsets\" must be two non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.end < e.begin) fail_tensor(file, name, "data_offsets end before begin");
  size_t item = dtype_size(e.dtype);
  if (numel > UINT64_MAX / item || e.end - e.begin != numel * item)
    fail_tensor(file, name, "data_offsets span " + std::to_string(e.end - e.begin) +
                                " bytes but shape and dtype need " + std::to_string(numel * item));
  return e;
}

}  // namespace

size_t dtype_size(SafeDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

const char* dtype_name(SafeDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

bool parse_dtype(const std::string& name, SafeDtype& out) {
  for (const auto& d : kDtypes)
    if (name == d.name) {
      out = d.dtype;
      return true;
    }
  return false;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file) {
  if (size < 8) fail(file, "truncated: " + std::to_string(size) + " bytes, need at least 8 for the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeaderBytes) fail(file, "header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8)
    fail(file, "header length " + std::to_string(n) + " runs past the end of the file (" +
                   std::to_string(size) + " bytes)");
  auto json = nlohmann::json::parse(bytes + 8, bytes + 8 + n, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) fail(file, "header is not valid JSON");
  if (!json.is_object()) fail(file, "header JSON is not an object");

  SafetensorsHeader header;
  header.data_start = 8 + n;
  const uint64_t buffer_size = size - header.data_start;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(file, "\"__metadata__\" is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail(file, "metadata value '" + m.key() + "' is not a string");
        header.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    TensorEntry e = parse_entry(file, it.key(), *it);
    if (e.end > buffer_size)
      fail_tensor(file, e.name, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                    ") out of range of the " + std::to_string(buffer_size) + "-byte data buffer");
    header.tensors.push_back(std::move(e));
  }
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const auto& prev = header.tensors[i - 1];
    const auto& cur = header.tensors[i];
    if (cur.begin < prev.end && cur.end > cur.begin)
      fail_tensor(file, cur.name, "data overlaps tensor '" + prev.name + "'");
  }
  return header;
}

std::string serialize_safetensors_header(const std::vector<TensorEntry>& tensors,
                                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata.empty()) json["__metadata__"] = metadata;
  for (const auto& e : tensors) {
    json[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {e.begin, e.end}}};
  }
  std::string text = json.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace wildreid::checkpoints
