// LibTorch layer over the torch-free header parser: mmap, dtype mapping, tensor views, atomic write.
#include "checkpoints/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace wildreid::checkpoints {

// Owns one read-only mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw SafetensorsError("safetensors file '" + path.string() + "': cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      throw SafetensorsError("safetensors file '" + path.string() + "': cannot stat: " + std::strerror(err));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw SafetensorsError("safetensors file '" + path.string() + "': cannot mmap: " + std::strerror(err));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

namespace {

bool to_scalar_type(SafeDtype d, at::ScalarType& out) {
  switch (d) {
    case SafeDtype::BOOL: out = at::kBool; return true;
    case SafeDtype::U8: out = at::kByte; return true;
    case SafeDtype::I8: out = at::kChar; return true;
    case SafeDtype::F8_E5M2: out = at::kFloat8_e5m2; return true;
    case SafeDtype::F8_E4M3: out = at::kFloat8_e4m3fn; return true;
    case SafeDtype::I16: out = at::kShort; return true;
    case SafeDtype::U16: out = at::kUInt16; return true;
    case SafeDtype::F16: out = at::kHalf; return true;
    case SafeDtype::BF16: out = at::kBFloat16; return true;
    case SafeDtype::I32: out = at::kInt; return true;
    case SafeDtype::U32: out = at::kUInt32; return true;
    case SafeDtype::F32: out = at::kFloat; return true;
    case SafeDtype::F64: out = at::kDouble; return true;
    case SafeDtype::I64: out = at::kLong; return true;
    case SafeDtype::U64: out = at::kUInt64; return true;
  }
  return false;
}

bool to_safe_dtype(at::ScalarType t, SafeDtype& out) {
  for (SafeDtype d : {SafeDtype::BOOL, SafeDtype::U8, SafeDtype::I8, SafeDtype::F8_E5M2, SafeDtype::F8_E4M3,
                      SafeDtype::I16, SafeDtype::U16, SafeDtype::F16, SafeDtype::BF16, SafeDtype::I32,
                      SafeDtype::U32, SafeDtype::F32, SafeDtype::F64, SafeDtype::I64, SafeDtype::U64}) {
    at::ScalarType s;
    if (to_scalar_type(d, s) && s == t) {
      out = d;
      return true;
    }
  }
  return false;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : path_(path), map_(std::make_shared<MappedFile>(path)) {
  header_ = parse_safetensors_header(map_->data(), map_->size(), path.string());
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& e : header_.tensors) out.push_back(e.name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw SafetensorsError("safetensors file '" + path_.string() + "': no tensor named '" + name + "'");
  const TensorEntry& e = header_.tensors[it->second];
  at::ScalarType type;
  if (!to_scalar_type(e.dtype, type))
    throw SafetensorsError("safetensors file '" + path_.string() + "': tensor '" + name + "': dtype " +
                           dtype_name(e.dtype) + " is not supported by LibTorch");
  auto options = at::TensorOptions().dtype(type).device(at::kCPU);
  if (e.end == e.begin) return at::empty(e.shape, options);
  // The mapping is shared by the tensor's deleter context, so it outlives the file object.
  auto* keep = new std::shared_ptr<MappedFile>(map_);
  void* data = const_cast<uint8_t*>(map_->data() + header_.data_start + e.begin);
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(e.dtype) != 0) {
    // Misaligned data (legal in the format): copy into an aligned tensor.
    delete keep;
    at::Tensor out = at::empty(e.shape, options);
    std::memcpy(out.data_ptr(), data, e.end - e.begin);
    return out;
  }
  return at::from_blob(
      data, e.shape, [keep](void*) { delete keep; }, options);
}

std::map<std::string, at::Tensor> SafetensorsFile::tensors() const {
  std::map<std::string, at::Tensor> out;
  for (const auto& e : header_.tensors) out[e.name] = tensor(e.name);
  return out;
}

std::map<std::string, at::Tensor> load_safetensors(const std::filesystem::path& path) {
  return SafetensorsFile(path).tensors();
}

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<TensorEntry> entries;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TensorEntry e;
    e.name = name;
    if (!to_safe_dtype(t.scalar_type(), e.dtype))
      throw std::runtime_error("save_safetensors '" + path.string() + "': tensor '" + name + "' has dtype " +
                               std::string(c10::toString(t.scalar_type())) + " that safetensors cannot store");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    e.shape = c.sizes().vec();
    e.begin = offset;
    offset += c.numel() * c.element_size();
    e.end = offset;
    entries.push_back(e);
    data.push_back(c);
  }
  std::string header = serialize_safetensors_header(entries, metadata);
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("save_safetensors: cannot create '" + tmp.string() + "'");
    uint64_t n = header.size();
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& c : data)
      out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw std::runtime_error("save_safetensors: write failed for '" + tmp.string() + "'");
    }
  }
  {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("save_safetensors: cannot rename '" + tmp.string() + "' to '" + path.string() +
                             "': " + ec.message());
  }
}

}  // namespace wildreid::checkpoints
