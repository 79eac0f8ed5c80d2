// The collage's layout: where each image goes on the square canvas, as the original app drew
// it. A canvas in the dominant colour; cut-outs in front, larger and nearer the centre the
// higher their rank (rank 0 = most listened), alternately tilted; uncropped covers smaller,
// behind. The browser draws these placements with CSS and the share renderer draws the same
// ones into a PNG, so both agree to the pixel grid.
//
// Pure functions; thread-safe. Deterministic: same input and seed, same layout.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sparkify::layout {

using Rgb = std::array<uint8_t, 3>;

// One image of the collage, as the function described it.
struct Item {
  enum class Kind { kCutout, kCover };  // RGBA cut-out (front) / uncropped cover (behind)
  Kind kind = Kind::kCover;
  std::string key;  // object key in the bucket (signed into a URL by the web app)
  int rank = 0;     // the cover's rank among the user's covers
  int width = 0;    // pixel size of the image behind `key` (for the aspect ratio); 0: square
  int height = 0;
};

struct Placement {
  size_t item = 0;      // index into the input items
  double x = 0, y = 0;  // centre, in canvas pixels (0..size)
  double width = 0;     // drawn size in canvas pixels, before rotation
  double height = 0;
  double rotation = 0;  // degrees, clockwise
  int z = 0;            // paint order: higher is drawn later (in front); unique
};

struct Layout {
  int size = 400;  // canvas side in pixels
  Rgb background{0, 0, 0};
  std::vector<Placement> placements;  // in paint order (ascending z)
};

struct LayoutOptions {
  int size = 400;  // Default: 400, the original canvas.
};

// Arranges `items` on a canvas filled with `background`. `seed` picks one of many layouts
// (Regenerate asks for another seed). Every item gets exactly one placement; an empty input
// gives an empty layout.
Layout Arrange(const std::vector<Item>& items, const Rgb& background, uint64_t seed,
               const LayoutOptions& options = {});

}  // namespace sparkify::layout
