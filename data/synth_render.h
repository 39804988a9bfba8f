// Procedural animals for `trainer synth`. An individual is a species body shape plus a pattern
// (turtle scutes, salamander spots, lynx spots and stripes) drawn from the individual's own RNG,
// so two individuals differ only in the details re-identification must learn. A photo re-renders
// the individual with its own pose, scale, position, light, colour cast, blur, noise, occlusion
// and background, then JPEG-encodes it at a random quality.
#pragma once
#include <cstdint>
#include <vector>

namespace wildreid::data {

enum class SynthSpecies { kTurtle, kSalamander, kLynx };

// JPEG bytes of one photo of individual (`individual_seed`), using `photo_seed` for the
// photo's conditions; `size` is the square side in pixels.
std::vector<uint8_t> render_synth_photo(SynthSpecies species, uint64_t individual_seed, uint64_t photo_seed,
                                        int size);

}  // namespace wildreid::data
