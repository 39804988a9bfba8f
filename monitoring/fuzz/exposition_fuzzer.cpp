// libFuzzer target for what the exporter takes from outside: label values (run/job/node names
// from configs and hostnames), HELP text and the scraper's Accept-Encoding header. Invariants:
// no crash, every sample stays on one line, the escaped label value unescapes to the input, and
// gzip round-trips the exposition.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "monitoring/exposition.h"
#include "monitoring/gzip.h"
#include "monitoring/registry.h"

namespace {

std::string unescape_label_value(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 'n' ? '\n' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wildreid::monitoring;
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t cut1 = input.find('\0');
  std::string value = input.substr(0, cut1);
  std::string rest = cut1 == std::string::npos ? "" : input.substr(cut1 + 1);
  size_t cut2 = rest.find('\0');
  std::string help = rest.substr(0, cut2);
  std::string accept = cut2 == std::string::npos ? "" : rest.substr(cut2 + 1);

  (void)accepts_gzip(accept.c_str());

  Registry registry(Labels{{"node", value}});
  registry.gauge("wildreid_fuzz", help).add({{"k", value}}).set(1);
  std::string text = serialize(registry.collect());
  // HELP, TYPE, one sample: exactly three newline-terminated lines.
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (lines != 3 || text.back() != '\n') std::abort();
  size_t sample = text.find("\nwildreid_fuzz{");
  size_t open = text.find("k=\"", sample);
  if (sample == std::string::npos || open == std::string::npos) std::abort();
  size_t start = open + 3, end = start;
  while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
  if (unescape_label_value(text.substr(start, end - start)) != value) std::abort();
  if (gzip_decompress(gzip_compress(text)) != text) std::abort();
  return 0;
}
