// The collage as a picture: draws a layout::Layout with the decoded images into RGB pixels or
// a PNG, the same drawing the browser does with CSS and SVG (the Share and Download image):
// the ground (a radial gradient, as CSS radial-gradient(circle farthest-corner at light,
// background 0%, background_edge 75%)), the frame line, then in ascending z every placement:
// its shadow (the shape moved and blurred with sigma = blur / 2, as CSS drop-shadow), a
// print's white border, and its image stretched to the box inside the border, rotated
// clockwise about its centre, alpha-composited ("over", straight alpha in, premultiplied
// internally) with antialiased edges and area-averaged downscaling; then the marks, strokes
// with round caps and joins.
//
// Pure functions; thread-safe (no shared state; the images are only read).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "layout/layout.h"
#include "vision/image.h"

namespace sparkify::render {

struct RenderOptions {
  // Output pixels per canvas pixel: the picture is round(layout.size * scale) pixels square
  // (2 gives a sharper PNG of the same collage). Default: 1. Must be > 0 and the output side
  // at most max_side.
  double scale = 1.0;
  // Largest accepted output side in pixels. Default: 4096.
  int max_side = 4096;
  // zlib level of the PNG (0..9). Default: 6.
  int png_compression = 6;
};

// `images[i]` is the picture of the layout's item i (the index Placement::item refers to):
// 8-bit RGB or RGBA (straight alpha), any size; images no placement refers to are ignored.
// Returns the opaque 8-bit RGB canvas.
// InvalidArgument: layout.size < 1, a bad scale or an output side over max_side, a placement
// whose item has no image, an empty or non-8-bit-RGB/RGBA image, a placement whose centre,
// size or rotation is not finite or whose size is not positive. Internal if OpenCV fails.
// Never throws.
Result<vision::Image> Render(const layout::Layout& layout, const std::vector<vision::Image>& images,
                             const RenderOptions& options = {});

// Render() encoded as an RGB PNG; the same errors, plus InvalidArgument for a bad
// png_compression.
Result<std::string> RenderPng(const layout::Layout& layout,
                              const std::vector<vision::Image>& images,
                              const RenderOptions& options = {});

}  // namespace sparkify::render
