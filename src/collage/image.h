// In-memory 8-bit images for the collage library, and an area-averaging thumbnailer.
//
// The library does no decoding and no I/O: callers hand it pixels. Thumbnail() is here so
// that a caller without OpenCV can bring a cover down to the palette's 250 px; the vision
// code may use its own resizer (OpenCV's INTER_AREA is the same idea), and palettes then
// differ slightly, as any two resizers' output does.
//
// Thread-safe: Image is a plain value; the functions are pure.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace sparkify::collage {

enum class PixelFormat {
  kRgb,   // R, G, B bytes per pixel (RGB888)
  kRgba,  // R, G, B, A bytes per pixel, not premultiplied; A = 0 is fully transparent
};

// 1 byte per channel: 3 for kRgb, 4 for kRgba.
int Channels(PixelFormat format);

// Row-major, top row first, no padding between rows.
struct Image {
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::kRgb;
  std::vector<uint8_t> pixels;  // width * height * Channels(format) bytes
};

// Largest width or height accepted anywhere in this library.
inline constexpr int kMaxImageSide = 1 << 15;

// OK if 1 <= width, height <= kMaxImageSide and pixels has exactly the size above;
// InvalidArgument otherwise.
Status ValidateImage(const Image& image);

// Scales the image down so that its longer side is at most max_side, keeping the aspect
// ratio (the shorter side rounded, at least 1). Each output pixel is the area-weighted mean of
// the source pixels it covers (exact fractional coverage). RGBA is averaged premultiplied, so
// colours of fully transparent pixels do not bleed into their neighbours; the output keeps
// the input's format. An image already small enough is returned unchanged (a copy).
// InvalidArgument: an invalid image, or max_side < 1.
Result<Image> Thumbnail(const Image& image, int max_side);

}  // namespace sparkify::collage
