// Thin wrappers over the HDF5 C API (the only HDF5 code in the project). Strings are fixed-length
// rather than variable-length types: h5py reads them without project code, and they are not slow.
// Object timestamps are off, so packing the same input twice gives byte-identical shards.
#include "data/hdf5_handle.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace wildreid::data::hdf5 {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": HDF5: " + what);
}

Handle check(hid_t id, herr_t (*close)(hid_t), const std::string& where, const std::string& what) {
  if (id < 0) fail(where, what);
  return Handle(id, close);
}

void write_plain(hid_t file, const char* name, hid_t type, const void* data, size_t n, const std::string& where) {
  hsize_t dims[1] = {n};
  auto space = check(H5Screate_simple(1, dims, nullptr), H5Sclose, where, "cannot create dataspace");
  // No modification times in object headers: the same records must give byte-identical files.
  auto dcpl = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, where, "cannot create property list");
  H5Pset_obj_track_times(dcpl.get(), false);
  auto set = check(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose,
                   where, std::string("cannot create dataset '") + name + "'");
  if (n > 0 && H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(where, std::string("cannot write dataset '") + name + "'");
}

Handle open_set(hid_t file, const char* name, const std::string& where) {
  return check(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, where, std::string("missing dataset '") + name + "'");
}

template <typename T>
std::vector<T> read_plain(hid_t file, const char* name, hid_t mem_type, H5T_class_t cls, const std::string& where) {
  auto set = open_set(file, name, where);
  auto type = check(H5Dget_type(set.get()), H5Tclose, where, "cannot read type");
  if (H5Tget_class(type.get()) != cls) fail(where, std::string("dataset '") + name + "' has the wrong type class");
  const size_t n = dataset_length(file, name, where);
  std::vector<T> out(n);
  if (n > 0 && H5Dread(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(where, std::string("cannot read dataset '") + name + "'");
  return out;
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (valid() && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

Handle::~Handle() {
  if (valid() && close_) close_(id_);
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle create_file(const std::string& path) {
  silence_errors();
  auto fcpl = check(H5Pcreate(H5P_FILE_CREATE), H5Pclose, path, "cannot create property list");
  H5Pset_obj_track_times(fcpl.get(), false);  // root group without timestamps (reproducible bytes)
  return check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), H5P_DEFAULT), H5Fclose, path, "cannot create file");
}

Handle open_file_readonly(const std::string& path) {
  silence_errors();
  return check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path,
               "cannot open (missing or not an HDF5 file)");
}

void write_u8(hid_t file, const char* name, const std::vector<uint8_t>& data, const std::string& where) {
  write_plain(file, name, H5T_NATIVE_UINT8, data.data(), data.size(), where);
}
void write_i64(hid_t file, const char* name, const std::vector<int64_t>& data, const std::string& where) {
  write_plain(file, name, H5T_NATIVE_INT64, data.data(), data.size(), where);
}
void write_u32(hid_t file, const char* name, const std::vector<uint32_t>& data, const std::string& where) {
  write_plain(file, name, H5T_NATIVE_UINT32, data.data(), data.size(), where);
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& data, const std::string& where) {
  size_t width = 1;
  for (const auto& s : data) width = std::max(width, s.size());
  std::vector<char> buffer(width * data.size(), '\0');
  for (size_t i = 0; i < data.size(); ++i) std::memcpy(buffer.data() + i * width, data[i].data(), data[i].size());
  auto type = check(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot create string type");
  H5Tset_size(type.get(), width);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  write_plain(file, name, type.get(), buffer.data(), data.size(), where);
}

size_t dataset_length(hid_t file, const char* name, const std::string& where) {
  auto set = open_set(file, name, where);
  auto space = check(H5Dget_space(set.get()), H5Sclose, where, "cannot read dataspace");
  if (H5Sget_simple_extent_ndims(space.get()) != 1) fail(where, std::string("dataset '") + name + "' is not 1-D");
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<size_t>(dims[0]);
}

std::vector<int64_t> read_i64(hid_t file, const char* name, const std::string& where) {
  return read_plain<int64_t>(file, name, H5T_NATIVE_INT64, H5T_INTEGER, where);
}
std::vector<uint32_t> read_u32(hid_t file, const char* name, const std::string& where) {
  return read_plain<uint32_t>(file, name, H5T_NATIVE_UINT32, H5T_INTEGER, where);
}

std::vector<std::string> read_strings(hid_t file, const char* name, const std::string& where) {
  auto set = open_set(file, name, where);
  auto type = check(H5Dget_type(set.get()), H5Tclose, where, "cannot read type");
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0)
    fail(where, std::string("dataset '") + name + "' is not a fixed-length string column");
  const size_t width = H5Tget_size(type.get());
  const size_t n = dataset_length(file, name, where);
  std::vector<char> buffer(width * n);
  if (n > 0 && H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
    fail(where, std::string("cannot read dataset '") + name + "'");
  std::vector<std::string> out(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = buffer.data() + i * width;
    out[i].assign(p, strnlen(p, width));
  }
  return out;
}

void write_attribute_i64(hid_t file, const char* name, int64_t value, const std::string& where) {
  auto space = check(H5Screate(H5S_SCALAR), H5Sclose, where, "cannot create dataspace");
  auto attr = check(H5Acreate2(file, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, where,
                    std::string("cannot create attribute '") + name + "'");
  if (H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) fail(where, std::string("cannot write attribute '") + name + "'");
}

void write_attribute_string(hid_t file, const char* name, const std::string& value, const std::string& where) {
  auto space = check(H5Screate(H5S_SCALAR), H5Sclose, where, "cannot create dataspace");
  auto type = check(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot create string type");
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  auto attr = check(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, where,
                    std::string("cannot create attribute '") + name + "'");
  std::string padded = value;
  padded.resize(std::max<size_t>(1, value.size()), '\0');
  if (H5Awrite(attr.get(), type.get(), padded.data()) < 0) fail(where, std::string("cannot write attribute '") + name + "'");
}

int64_t read_attribute_i64(hid_t file, const char* name, const std::string& where) {
  auto attr = check(H5Aopen(file, name, H5P_DEFAULT), H5Aclose, where, std::string("missing attribute '") + name + "'");
  int64_t value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0) fail(where, std::string("cannot read attribute '") + name + "'");
  return value;
}

Handle open_file_readwrite(const std::string& path) {
  silence_errors();
  return check(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, path,
               "cannot open for writing (missing, read-only or not an HDF5 file)");
}

Handle create_group(hid_t loc, const char* name, const std::string& where) {
  auto gcpl = check(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, where, "cannot create property list");
  H5Pset_obj_track_times(gcpl.get(), false);
  return check(H5Gcreate2(loc, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose, where,
               std::string("cannot create group '") + name + "'");
}

Handle open_group(hid_t loc, const char* name, const std::string& where) {
  return check(H5Gopen2(loc, name, H5P_DEFAULT), H5Gclose, where, std::string("missing group '") + name + "'");
}

bool has_link(hid_t loc, const char* name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

void delete_link(hid_t loc, const char* name, const std::string& where) {
  if (H5Ldelete(loc, name, H5P_DEFAULT) < 0) fail(where, std::string("cannot delete '") + name + "'");
}

std::vector<std::string> link_names(hid_t loc, const std::string& where) {
  std::vector<std::string> names;
  const auto collect = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  if (H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names) < 0) fail(where, "cannot list group");
  std::sort(names.begin(), names.end());
  return names;
}

void write_f32_matrix(hid_t loc, const char* name, const float* data, size_t rows, size_t cols,
                      const std::string& where) {
  hsize_t dims[2] = {rows, cols};
  auto space = check(H5Screate_simple(2, dims, nullptr), H5Sclose, where, "cannot create dataspace");
  auto dcpl = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, where, "cannot create property list");
  H5Pset_obj_track_times(dcpl.get(), false);
  auto set = check(H5Dcreate2(loc, name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                   H5Dclose, where, std::string("cannot create dataset '") + name + "'");
  if (rows * cols > 0 && H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(where, std::string("cannot write dataset '") + name + "'");
}

std::array<size_t, 2> matrix_shape(hid_t loc, const char* name, const std::string& where) {
  auto set = open_set(loc, name, where);
  auto space = check(H5Dget_space(set.get()), H5Sclose, where, "cannot read dataspace");
  if (H5Sget_simple_extent_ndims(space.get()) != 2) fail(where, std::string("dataset '") + name + "' is not 2-D");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return {static_cast<size_t>(dims[0]), static_cast<size_t>(dims[1])};
}

void read_f32_matrix(hid_t loc, const char* name, float* out, const std::string& where) {
  const auto shape = matrix_shape(loc, name, where);
  auto set = open_set(loc, name, where);
  auto type = check(H5Dget_type(set.get()), H5Tclose, where, "cannot read type");
  if (H5Tget_class(type.get()) != H5T_FLOAT) fail(where, std::string("dataset '") + name + "' is not floating-point");
  if (shape[0] * shape[1] > 0 && H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    fail(where, std::string("cannot read dataset '") + name + "'");
}

bool has_attribute(hid_t loc, const char* name) { return H5Aexists(loc, name) > 0; }

void write_attribute_double(hid_t loc, const char* name, double value, const std::string& where) {
  auto space = check(H5Screate(H5S_SCALAR), H5Sclose, where, "cannot create dataspace");
  auto attr = check(H5Acreate2(loc, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, where,
                    std::string("cannot create attribute '") + name + "'");
  if (H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0) fail(where, std::string("cannot write attribute '") + name + "'");
}

double read_attribute_double(hid_t loc, const char* name, const std::string& where) {
  auto attr = check(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose, where, std::string("missing attribute '") + name + "'");
  double value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0) fail(where, std::string("cannot read attribute '") + name + "'");
  return value;
}

// Fixed-length (what write_attribute_string writes) or variable-length (what h5py writes for a
// Python str) string attributes.
std::string read_attribute_string(hid_t loc, const char* name, const std::string& where) {
  auto attr = check(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose, where, std::string("missing attribute '") + name + "'");
  auto type = check(H5Aget_type(attr.get()), H5Tclose, where, "cannot read type");
  if (H5Tget_class(type.get()) != H5T_STRING) fail(where, std::string("attribute '") + name + "' is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    auto mem = check(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot create string type");
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* text = nullptr;
    if (H5Aread(attr.get(), mem.get(), &text) < 0) fail(where, std::string("cannot read attribute '") + name + "'");
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  const size_t width = H5Tget_size(type.get());
  std::vector<char> buffer(width + 1, '\0');
  if (H5Aread(attr.get(), type.get(), buffer.data()) < 0) fail(where, std::string("cannot read attribute '") + name + "'");
  return std::string(buffer.data(), strnlen(buffer.data(), width));
}

void write_f32(hid_t loc, const char* name, const float* data, size_t n, const std::string& where) {
  write_plain(loc, name, H5T_IEEE_F32LE, data, n, where);
}

void read_f32_rows(hid_t loc, const char* name, size_t first, size_t rows, float* out, const std::string& where) {
  auto set = open_set(loc, name, where);
  auto space = check(H5Dget_space(set.get()), H5Sclose, where, "cannot read dataspace");
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  if (ndims != 1 && ndims != 2) fail(where, std::string("dataset '") + name + "' is not 1-D or 2-D");
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (first + rows > dims[0])
    fail(where, std::string("rows ") + std::to_string(first) + "+" + std::to_string(rows) + " beyond dataset '" +
                    name + "' of " + std::to_string(dims[0]) + " rows");
  if (rows == 0) return;
  hsize_t start[2] = {first, 0}, count[2] = {rows, dims[1]};
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0)
    fail(where, std::string("cannot select rows of '") + name + "'");
  auto memory = check(H5Screate_simple(ndims, count, nullptr), H5Sclose, where, "cannot create dataspace");
  if (H5Dread(set.get(), H5T_NATIVE_FLOAT, memory.get(), space.get(), H5P_DEFAULT, out) < 0)
    fail(where, std::string("cannot read rows of dataset '") + name + "'");
}

}  // namespace wildreid::data::hdf5
