// Clean edges for cut-outs: the model's soft mask made into a crisp subject with a thin soft
// band, and the colours under that band estimated from the subject, so that neither a halo
// nor the old background's tint is carried onto the collage.
//
// RefineMask, in order:
//   1. harden: alpha below `low` -> 0, above `high` -> 1, a smooth step between (fog inside
//      the subject and a faint halo outside go; the edge stays where the model put it);
//   2. holes: background enclosed by the subject (alpha >= 0.5; not touching the image's
//      edge) smaller than `max_hole` of the subject's area is filled; given the photo, not
//      where the model puts most of the hole below `low` and its colours are nearer the open
//      background's near it than the subject's around it (a gap between two limbs that the
//      mask closed stays open);
//   3. islands: components of the subject (8-connected, after an opening of the band's width
//      so that thin bridges do not join them) smaller than `min_island` of the largest go; so
//      do half-certain pixels (0 < alpha < 1 after step 1) farther than three band widths from
//      a certain one (a half-certain blob beside the subject);
//   4. band: opaque more than max(2, longer side / 300) pixels inside the subject's edge,
//      transparent as far outside it (no fog in the body, no halo, no rims of specks);
//   5. feather: a Gaussian blur of `feather` pixels (0: max(0.7, longer side / 700)), the
//      thin antialiased band.
// DecontaminateEdges: where 0 < alpha < 0.95, the colour becomes the weighted mean of the
// confident subject's colours nearby (alpha >= 0.95; normalised Gaussian filtering at growing
// radii), instead of the photo's mix of subject and old background.
//
// Pure and thread-safe.
#pragma once

#include "common/status.h"
#include "vision/image.h"

namespace sparkify::vision {

struct RefineOptions {
  float low = 0.25f;
  float high = 0.75f;
  double min_island = 0.02;
  double max_hole = 0.01;
  double feather = 0;
};

// The refined mask, the same size as `raw`. An empty mask comes back empty. `image`: the
// photo the mask is of (8-bit RGB or RGBA, the mask's size; otherwise not used), for step 2.
Mask RefineMask(const Mask& raw, const RefineOptions& options = {}, const Image* image = nullptr);

// `image` (8-bit RGB or RGBA) with the colours under the soft edge of `alpha` replaced as
// above; alpha channel, if any, unchanged. InvalidArgument when the sizes differ.
Result<Image> DecontaminateEdges(const Image& image, const Mask& alpha);

}  // namespace sparkify::vision
