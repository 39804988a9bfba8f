// A raw-socket HTTP/1.1 client for the exporter tests: it must be able to send what no real
// client would (malformed request lines, oversized headers, odd methods), so it writes bytes
// verbatim and parses only what comes back.
#pragma once
#include <map>
#include <string>

namespace wildreid::monitoring::testing {

struct HttpReply {
  int status = 0;                          // 0 = connection closed/reset without a status line
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

// Sends `raw` to 127.0.0.1:port, reads until the server closes (or timeout), parses the reply.
HttpReply http_raw(int port, const std::string& raw, int timeout_ms = 5000);
// GET path with Connection: close and optional extra header lines ("Name: value\r\n").
HttpReply http_get(int port, const std::string& path, const std::string& extra_headers = "");
// A loopback port nobody listens on right now (bind to port 0, read it, close).
int free_loopback_port();

}  // namespace wildreid::monitoring::testing
