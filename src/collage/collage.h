// The collage library's public surface in one include: pixels in, palettes and a collage
// selection out. Pure: no I/O, no OpenCV, no sockets, no environment; every function is
// thread-safe and deterministic for given inputs and seeds.
//
//   image.h      Image (RGB888 / RGBA), ValidateImage, Thumbnail (area averaging)
//   color.h      Rgb, Lab, RgbToLab (sRGB D65), DeltaE76, Complementary
//   palette.h    ComputePalette: k-means colours of one cover with their shares
//   selection.h  SelectCollage: dominant colour, 12 -> 9 covers, shuffle, cut-out marks
//   kmeans.h     the weighted k-means both of the above run on
#pragma once

#include "collage/color.h"
#include "collage/image.h"
#include "collage/kmeans.h"
#include "collage/palette.h"
#include "collage/selection.h"
