// gzip for /metrics responses when the scraper sends Accept-Encoding: gzip (Prometheus does).
// A separate file so the exporter stays about HTTP and the test can round-trip through zlib.
#pragma once
#include <string>

namespace wildreid::monitoring {

// gzip member (RFC 1952) of `data`; throws std::runtime_error if zlib fails.
std::string gzip_compress(const std::string& data);
// Inverse, for tests and tools; throws std::runtime_error on corrupt input.
std::string gzip_decompress(const std::string& data);
// True when an Accept-Encoding header value accepts gzip (token "gzip" or "*", q not 0).
bool accepts_gzip(const char* accept_encoding);

}  // namespace wildreid::monitoring
