// A tiny counter-free generator (splitmix64) for synthetic data. Every individual and every photo
// gets its own stream derived from (seed, dataset, individual, photo), so an image's pixels never
// depend on how many threads drew the others, and std:: distributions (whose output differs
// between standard libraries) are not used.
#pragma once
#include <cstdint>

namespace wildreid::data {

class SynthRng {
 public:
  explicit SynthRng(uint64_t seed) : state_(seed) {}
  static SynthRng stream(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    SynthRng r(seed);
    r.state_ ^= r.next() + a * 0x9E3779B97F4A7C15ull;
    r.state_ ^= r.next() + b * 0xC2B2AE3D27D4EB4Full;
    r.state_ ^= r.next() + c * 0x165667B19E3779F9ull;
    return r;
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform(double lo = 0.0, double hi = 1.0) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
  }
  int range(int lo, int hi_inclusive) {
    return lo + static_cast<int>(next() % static_cast<uint64_t>(hi_inclusive - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

}  // namespace wildreid::data
