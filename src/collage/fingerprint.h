// Fingerprints of covers, to put each picture in a collage once: the same picture as another
// file (re-encoded, resized, at another URL) has a near-identical fingerprint.
//
// A fingerprint is a 64-bit difference hash (the cover in grey, averaged down to 9x8 cells;
// bit i set when the right neighbour of cell i is brighter by more than 2 grey levels, so that
// flat areas give 0 bits whatever their noise) plus the cover's mean colour.
// Two covers are near-duplicates when their hashes differ in at most kMaxHashDistance bits and
// their mean colours by at most kMaxMeanDifference per channel; the colour test keeps two flat
// covers of different colours (whose hashes are all noise) apart.
//
// Pure and thread-safe.
#pragma once

#include <cstdint>

#include "collage/color.h"
#include "collage/image.h"
#include "common/status.h"

namespace sparkify::collage {

struct Fingerprint {
  uint64_t hash = 0;
  Rgb mean;  // transparent pixels (RGBA) do not count
};

inline constexpr int kMaxHashDistance = 6;
inline constexpr int kMaxMeanDifference = 12;

// InvalidArgument for an invalid image (ValidateImage).
Result<Fingerprint> FingerprintOf(const Image& image);

bool NearDuplicates(const Fingerprint& a, const Fingerprint& b);

}  // namespace sparkify::collage
