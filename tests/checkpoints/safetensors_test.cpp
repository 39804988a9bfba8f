// safetensors reader/writer: every dtype round-trips, and each kind of malformed file yields a
// SafetensorsError naming the file (and the tensor where one is at fault) instead of a crash.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "checkpoints/safetensors.h"

namespace fs = std::filesystem;
using namespace wildreid::checkpoints;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("wildreid_st_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// Writes an 8-byte length + `header` + `data` verbatim (length may be forced to lie).
fs::path write_raw(const std::string& name, const std::string& header, size_t data_bytes, int64_t length = -1) {
  fs::path p = temp_dir() / name;
  std::ofstream out(p, std::ios::binary);
  uint64_t n = length < 0 ? header.size() : static_cast<uint64_t>(length);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header;
  out << std::string(data_bytes, '\0');
  return p;
}

// Expects opening `p` to throw SafetensorsError whose message contains every string in `parts`.
void expect_error(const fs::path& p, std::vector<std::string> parts) {
  parts.push_back(p.string());
  try {
    SafetensorsFile f(p);
    FAIL() << "no error for " << p;
  } catch (const SafetensorsError& e) {
    for (const auto& s : parts) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what() << " lacks " << s;
  }
}

}  // namespace

TEST(Safetensors, EveryLibTorchDtypeRoundTrips) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  at::Tensor base = at::arange(24, at::kDouble).reshape({2, 3, 4}) - 7.0;
  for (auto t : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kShort, at::kChar,
                 at::kByte, at::kBool})
    tensors.emplace_back(std::string("t_") + c10::toString(t), base.to(t));
  tensors.emplace_back("scalar", at::scalar_tensor(3.5, at::kFloat));
  tensors.emplace_back("empty", at::empty({0, 5}, at::kFloat));
  tensors.emplace_back("noncontig", base.to(at::kFloat).transpose(0, 2));
  fs::path p = temp_dir() / "all.safetensors";
  save_safetensors(p, tensors, {{"format", "pt"}});
  SafetensorsFile f(p);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    at::Tensor r = f.tensor(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(r, t.contiguous())) << name;
  }
}

TEST(Safetensors, ReadsFileWrittenByPythonFormat) {
  // Header exactly as the reference implementation writes it, with a U8 and an F16 tensor.
  std::string header = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                       R"("b":{"dtype":"F16","shape":[1,2],"data_offsets":[3,7]}})";
  fs::path p = write_raw("py.safetensors", header, 7);
  SafetensorsFile f(p);
  EXPECT_EQ(f.tensor("a").sizes(), at::IntArrayRef({3}));
  EXPECT_EQ(f.tensor("b").scalar_type(), at::kHalf);  // odd offset: possibly misaligned, still readable
  EXPECT_EQ(f.tensor("b").sum().item<double>(), 0.0);
}

TEST(Safetensors, EmptyFile) { expect_error(write_raw("empty", "", 0, 0), {"not valid JSON"}); }

TEST(Safetensors, TooShortForLength) {
  fs::path p = temp_dir() / "short";
  std::ofstream(p, std::ios::binary) << "abc";
  expect_error(p, {"truncated"});
}

TEST(Safetensors, HeaderLengthBeyondFile) {
  expect_error(write_raw("len", "{}", 0, 4096), {"header length 4096", "past the end"});
}

TEST(Safetensors, JsonNotAnObject) { expect_error(write_raw("arr", "[1, 2]", 0), {"not an object"}); }

TEST(Safetensors, InvalidJson) { expect_error(write_raw("bad", "{\"a\": ", 0), {"not valid JSON"}); }

TEST(Safetensors, UnknownDtype) {
  expect_error(write_raw("dtype", R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4),
               {"tensor 'w'", "unknown dtype \"F12\""});
}

TEST(Safetensors, OffsetsOutOfRange) {
  expect_error(write_raw("range", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
               {"tensor 'w'", "out of range"});
}

TEST(Safetensors, OffsetsOverlap) {
  expect_error(write_raw("overlap",
                         R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         12),
               {"tensor 'b'", "overlaps tensor 'a'"});
}

TEST(Safetensors, SizeDisagreesWithShape) {
  expect_error(write_raw("size", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               {"tensor 'w'", "need 12"});
}

TEST(Safetensors, NegativeShape) {
  expect_error(write_raw("neg", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0),
               {"tensor 'w'", "shape"});
}

TEST(Safetensors, MissingTensorNamed) {
  fs::path p = temp_dir() / "one.safetensors";
  save_safetensors(p, {{"x", at::ones({2})}});
  SafetensorsFile f(p);
  try {
    f.tensor("y");
    FAIL();
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("'y'"), std::string::npos);
  }
}

// Random byte mutations of a valid file: the parser must either accept or throw SafetensorsError.
TEST(Safetensors, MutatedHeadersNeverCrash) {
  std::string header = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                       R"("b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}})";
  std::string file(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(n >> (8 * i));
  file += header + std::string(24, '\0');
  std::mt19937 rng(1234);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string m = file;
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<char>(rng() % 256);
    if (rng() % 5 == 0) m.resize(rng() % m.size());
    try {
      parse_safetensors_header(reinterpret_cast<const uint8_t*>(m.data()), m.size(), "mutant");
      ++accepted;
    } catch (const SafetensorsError& e) {
      EXPECT_NE(std::string(e.what()).find("mutant"), std::string::npos);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(accepted + rejected, 3000);
}
