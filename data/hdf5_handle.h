// RAII ownership of HDF5 ids and the few typed read/write helpers the shard writer and reader
// share. HDF5's automatic error-stack printing is turned off: callers throw messages naming the
// shard and dataset instead. Not thread-safe (neither is the default HDF5 build): one thread only.
#pragma once
#include <hdf5.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wildreid::data::hdf5 {

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

void silence_errors();  // disable HDF5's default error printing (idempotent)

Handle create_file(const std::string& path);
Handle open_file_readonly(const std::string& path);  // throws naming the file

// 1-D datasets. `where` prefixes error messages (e.g. the shard path).
void write_u8(hid_t file, const char* name, const std::vector<uint8_t>& data, const std::string& where);
void write_i64(hid_t file, const char* name, const std::vector<int64_t>& data, const std::string& where);
void write_u32(hid_t file, const char* name, const std::vector<uint32_t>& data, const std::string& where);
// Fixed-length NUL-padded UTF-8 strings, width = longest value (at least 1).
void write_strings(hid_t file, const char* name, const std::vector<std::string>& data, const std::string& where);

size_t dataset_length(hid_t file, const char* name, const std::string& where);
std::vector<int64_t> read_i64(hid_t file, const char* name, const std::string& where);
std::vector<uint32_t> read_u32(hid_t file, const char* name, const std::string& where);
std::vector<std::string> read_strings(hid_t file, const char* name, const std::string& where);

void write_attribute_i64(hid_t file, const char* name, int64_t value, const std::string& where);
void write_attribute_string(hid_t file, const char* name, const std::string& value, const std::string& where);
int64_t read_attribute_i64(hid_t file, const char* name, const std::string& where);

// Groups, links, 2-D float32 datasets and more attribute types (the embeddings file of
// identify/). `loc` is a file or a group; every dataset/attribute helper above accepts either.
Handle open_file_readwrite(const std::string& path);  // throws naming the file
Handle create_group(hid_t loc, const char* name, const std::string& where);
Handle open_group(hid_t loc, const char* name, const std::string& where);  // throws when missing
bool has_link(hid_t loc, const char* name);                                  // direct child only
void delete_link(hid_t loc, const char* name, const std::string& where);
std::vector<std::string> link_names(hid_t loc, const std::string& where);   // children, sorted
// Row-major [rows, cols]; an empty matrix is stored as a [rows, cols] dataset with no data.
void write_f32_matrix(hid_t loc, const char* name, const float* data, size_t rows, size_t cols,
                      const std::string& where);
std::array<size_t, 2> matrix_shape(hid_t loc, const char* name, const std::string& where);  // throws unless 2-D
// Reads a 2-D floating-point dataset (any float width, converted) into `out` (rows x cols).
void read_f32_matrix(hid_t loc, const char* name, float* out, const std::string& where);
bool has_attribute(hid_t loc, const char* name);
void write_attribute_double(hid_t loc, const char* name, double value, const std::string& where);
double read_attribute_double(hid_t loc, const char* name, const std::string& where);
std::string read_attribute_string(hid_t loc, const char* name, const std::string& where);

// 1-D float32 columns and row ranges of 1-D or 2-D float datasets (the local-feature cache of
// matching/ reads one image's rows without loading a whole file).
void write_f32(hid_t loc, const char* name, const float* data, size_t n, const std::string& where);
// Reads rows [first, first + rows) (every column of a 2-D dataset) as float32 into `out`.
void read_f32_rows(hid_t loc, const char* name, size_t first, size_t rows, float* out, const std::string& where);

}  // namespace wildreid::data::hdf5
