// A small, fully specified random generator for the input pipeline. std:: distributions are
// implementation-defined, and a generator shared between decode threads would make augmentation
// depend on scheduling; instead every sample gets its own SplitMix64 stream seeded from
// (seed, epoch, global record index), so a batch is bit-identical whatever the thread count.
#pragma once
#include <cmath>
#include <cstdint>

namespace wildreid::data {

class SampleRng {
 public:
  explicit SampleRng(uint64_t state) : state_(state) {}
  // The stream for one record in one epoch of a run with the given seed.
  static SampleRng for_record(uint64_t seed, int64_t epoch, uint64_t record) {
    uint64_t s = mix(seed ^ 0x5bd1e9955bd1e995ULL);
    s = mix(s ^ static_cast<uint64_t>(epoch));
    s = mix(s ^ record);
    return SampleRng(s);
  }
  // SplitMix64's finaliser (Steele, Lea, Flood 2014).
  static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi) (hi > lo); the modulo bias is below 2^-40 for our ranges.
  int64_t randint(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo));
  }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

}  // namespace wildreid::data
