// See extractor.h.
#include "matching/extractor.h"

#include "matching/aliked_extractor.h"
#include "matching/sift_extractor.h"

namespace wildreid::matching {

std::unique_ptr<LocalExtractor> make_extractor(const ExtractorOptions& options) {
  validate(options);
  if (is_aliked(options)) return std::make_unique<AlikedExtractor>(options);
  return std::make_unique<SiftExtractor>(options);
}

}  // namespace wildreid::matching
