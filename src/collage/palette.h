// The colour palette of one cover: k-means on its pixels, each cluster's centre and share.
//
// This is step 3 of the original app (docs/product.md): the cover, thumbnailed to at most 250 px,
// is clustered into 10 colours by k-means on RGB; each cluster gives its centre and its share
// of the pixels, rounded to 2 decimals.
//
// Thread-safe: pure functions; Palette is a plain value.
#pragma once

#include <cstdint>
#include <vector>

#include "collage/color.h"
#include "collage/image.h"
#include "common/status.h"

namespace sparkify::collage {

struct PaletteColor {
  Rgb color;     // the cluster's centre, each channel rounded to the nearest integer
  double share;  // its fraction of the counted pixels, rounded to 2 decimals (may be 0.00)
};

// Largest share first. Equal rounded shares keep the order of the exact pixel counts, then of
// the unrounded centres (lexicographic R, G, B ascending), so the order is deterministic.
// Rounded shares need not sum to exactly 1 (e.g. 0.99 or 1.01).
using Palette = std::vector<PaletteColor>;

struct PaletteOptions {
  // k. Default: 10. REQUIRES: 1 <= k <= kMaxClusters (256). An image with fewer distinct colours
  // (among its counted pixels) gets one entry per distinct colour, so a single-colour image gets
  // one.
  int clusters = 10;
  // Lloyd rounds at most. Default: 300.
  int max_iterations = 300;
  // Seeds k-means++. Default: 0. Same image, options and seed: same palette.
  uint64_t seed = 0;
  // Largest width or height accepted; bigger images are refused (thumbnail them first, e.g.
  // with Thumbnail()), which bounds the work per cover. Default: 250, the original app's size.
  int max_side = 250;
};

// The palette of an RGB or RGBA image. RGBA pixels with alpha 0 are not counted (their colour
// is meaningless); all others count fully, whatever their alpha.
// InvalidArgument: an invalid image, a side over max_side, bad options, or no counted pixel.
Result<Palette> ComputePalette(const Image& image, const PaletteOptions& options = {});

// OK if the palette is non-empty and every share is a finite number in [0, 1];
// InvalidArgument otherwise. (Palettes also come from outside, e.g. from a request.)
Status ValidatePalette(const Palette& palette);

// x rounded to 2 decimals: std::round(x * 100) / 100, halves away from zero (Python's round(),
// which the original app used, rounds halves to even; the difference is at most 0.01).
double RoundShare(double x);

}  // namespace sparkify::collage
