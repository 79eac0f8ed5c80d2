// The collage's composition: where each image goes on the square canvas, and what is drawn
// around them. The browser draws it with CSS and SVG, the share renderer (render.h) draws the
// same into a PNG, so both agree.
//
//   ground    the dominant colour, lit from above the centre: a radial gradient to a 18%
//             darker edge, and a thin frame line inset from the edge in a light tint;
//   backdrop  the whole covers as framed prints (a white border, a soft shadow), tilted,
//             spread over a 3x3 grid of cells corners first, so that no corner stays empty;
//   heroes    the cut-outs in front, the best mask largest, nearest the centre and on top,
//             the others around it, alternately tilted, each with a drop shadow of its shape;
//   marks     a few strokes of our own design where the ground shows (up to two sparkles
//             near the frame line, corners first, and a squiggle along the top or bottom
//             edge; none over an image), in white or the complementary colour, whichever
//             shows more on the ground.
// Every image's rotated box stays inside the canvas: nothing is cut off.
//
// Pure functions; thread-safe. Deterministic: same input and seed, same layout.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "collage/color.h"

namespace sparkify::layout {

// The product's one colour type (collage/color.h).
using Rgb = collage::Rgb;

// One image of the collage, as the function described it.
struct Item {
  enum class Kind { kCutout, kCover };  // RGBA cut-out (a hero) / whole cover (backdrop)
  Kind kind = Kind::kCover;
  std::string key;  // object key in the bucket (signed into a URL by the web app)
  int rank = 0;     // the cover's rank among the user's covers
  int width = 0;    // pixel size of the image behind `key` (for the aspect ratio); 0: square
  int height = 0;
  double quality = 0;  // cut-outs: the mask's quality (0..1); the best is the main hero
};

struct Placement {
  size_t item = 0;      // index into the input items
  double x = 0, y = 0;  // centre, in canvas pixels (0..size)
  double width = 0;     // drawn size in canvas pixels, frame included, before rotation
  double height = 0;
  double rotation = 0;  // degrees, clockwise
  int z = 0;            // paint order: higher is drawn later (in front); unique
  double frame = 0;     // a white border of this many canvas pixels around the image
  bool shadow = false;  // casts the layout's shadow
};

// A drop shadow: the placement's shape, moved by (dx, dy), blurred by a Gaussian of standard
// deviation blur / 2 (CSS drop-shadow's blur radius), in black at `opacity`.
struct Shadow {
  double dx = 0, dy = 0, blur = 0, opacity = 0;
};

// A stroke through `points` (canvas pixels), round caps and joins.
struct Stroke {
  std::vector<std::pair<double, double>> points;
  double width = 1;
  Rgb color{255, 255, 255};
  double opacity = 1;
};

struct Layout {
  int size = 1080;                       // canvas side in pixels
  Rgb background{0, 0, 0};               // the ground's colour at its centre...
  Rgb background_edge{0, 0, 0};          // ...and from 75% of the way to the farthest corner on
  double light_x = 0.5, light_y = 0.45;  // the gradient's centre, as fractions of the side
  Rgb frame_color{255, 255, 255};        // the frame line
  double frame_inset = 0;                // its distance from the edge, canvas pixels
  double frame_width = 0;                // 0: no frame line
  Shadow shadow;
  std::vector<Placement> placements;  // in paint order (ascending z)
  std::vector<Stroke> marks;          // drawn last, in order
};

struct LayoutOptions {
  int size = 1080;  // Default: 1080, the shared PNG's side.
};

// Arranges `items` on the canvas; `background` is the dominant colour, `accent` the
// complementary one. `seed` picks one of many layouts (Regenerate asks for another seed).
// Every item gets exactly one placement; an empty input gives a layout with no placements.
Layout Arrange(const std::vector<Item>& items, const Rgb& background, const Rgb& accent,
               uint64_t seed, const LayoutOptions& options = {});

}  // namespace sparkify::layout
