// MaskQuality: how much a soft mask looks like one confident subject, from the mask alone.
// The collage cuts out only covers whose mask is a confident subject: a random choice (the
// original app's) turns soft, low-confidence masks into translucent smears.
//
// Measured on the mask shrunk to at most 256 px (area averaging):
//   confidence     1 - the share of uncertain pixels (alpha in (0.2, 0.8)) among the visible
//                  ones (alpha > 0.1): a crisp mask is uncertain only along its edge, a fog
//                  everywhere.
//   area           share of the pixels with alpha >= 0.5.
//   connectedness  share of those in the largest 8-connected component: one subject, not
//                  scattered specks.
//   border         share of the outermost pixel ring with alpha >= 0.5: a mask that is a
//                  frame around the whole cover, or the whole cover, touches all of it.
// score = confidence^2 * connectedness * area factor * border factor, in [0, 1]:
//   area factor    0 below 1% of the image, rising to 1 at 5%; 1 up to 85%, falling to 0 at
//                  97% (a subject is neither a speck nor the whole cover);
//   border factor  1 up to 50% of the ring, falling to 0 at 90%.
// A mask is a confident subject when score >= kSubjectThreshold.
//
// Pure and thread-safe.
#pragma once

#include "vision/image.h"

namespace sparkify::vision {

struct MaskQuality {
  double confidence = 0;
  double area = 0;
  double connectedness = 0;
  double border = 0;
  double score = 0;
  bool subject = false;  // score >= kSubjectThreshold
};

inline constexpr double kSubjectThreshold = 0.5;

// An empty mask scores 0 everywhere.
MaskQuality ScoreMask(const Mask& mask);

}  // namespace sparkify::vision
