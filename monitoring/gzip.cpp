// zlib deflate with a gzip wrapper (windowBits 15 + 16), and Accept-Encoding parsing. Level 1:
// the exposition is repetitive text, so the fastest level already shrinks it ~6x.
#include "monitoring/gzip.h"

#include <zlib.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace wildreid::monitoring {

std::string gzip_compress(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  size_t produced = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate failed");
  out.resize(produced);
  return out;
}

std::string gzip_decompress(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("gzip: inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: corrupt or truncated input");
  return out;
}

bool accepts_gzip(const char* header) {
  if (!header) return false;
  std::string value(header);
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t end = value.find(',', pos);
    if (end == std::string::npos) end = value.size();
    std::string item = value.substr(pos, end - pos);
    pos = end + 1;
    std::string coding = item.substr(0, item.find(';'));
    std::string trimmed;
    for (char c : coding)
      if (!std::isspace(static_cast<unsigned char>(c))) trimmed += static_cast<char>(std::tolower(c));
    if (trimmed != "gzip" && trimmed != "*") continue;
    size_t q = item.find("q=");
    if (q != std::string::npos && std::strtod(item.c_str() + q + 2, nullptr) <= 0) continue;
    return true;
  }
  return false;
}

}  // namespace wildreid::monitoring
