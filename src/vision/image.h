// Decoded images and soft masks, and DecodeImage: untrusted JPEG, PNG or WebP bytes -> 8-bit
// RGB or RGBA pixels, upright (EXIF orientation applied), with decompression bombs refused
// from the header before any pixel buffer is allocated.
//
// Image and Mask are values (cv::Mat shares its buffer on copy: clone() to own a copy).
// DecodeImage is thread-safe (no shared state; libjpeg, libpng and libwebp are re-entrant).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "common/status.h"

namespace sparkify::vision {

// Pixels in RGB (CV_8UC3) or RGBA (CV_8UC4, straight alpha) order, continuous, row-major.
struct Image {
  cv::Mat pixels;

  int width() const { return pixels.cols; }
  int height() const { return pixels.rows; }
  bool has_alpha() const { return pixels.channels() == 4; }
};

// A soft foreground mask: CV_32FC1, values in [0, 1] (1 = subject), the size of its image.
struct Mask {
  cv::Mat alpha;

  int width() const { return alpha.cols; }
  int height() const { return alpha.rows; }
};

struct DecodeLimits {
  // Largest accepted input. Default: 25 MiB.
  size_t max_bytes = 25u << 20;
  // Largest width * height (as stored in the header). Default: 40 megapixels, which decodes
  // to at most 160 MB of RGBA (twice that transiently for a 16-bit PNG).
  uint64_t max_pixels = 40'000'000;
  // Largest width or height. Default: 16384.
  uint32_t max_side = 16384;
  // Most scans in a (progressive) JPEG; each is a pass over the whole image. Default: 100
  // (encoders write about 10; libjpeg-turbo's tools suggest a limit of the same order).
  int max_jpeg_scans = 100;
  // Largest width * height * channels * bytes per sample as stored (ImageHeader): the data a
  // decoder must produce, so a small file of 16-bit samples cannot cost more than the pixel
  // limit suggests. Default: 192 MiB (40 MP of 8-bit RGBA fit; 16-bit RGBA up to 25 MP).
  uint64_t max_sample_bytes = 192ull << 20;
  // JPEG only: decode at 1/2, 1/4 or 1/8 of the size (libjpeg's DCT scaling: a fraction of
  // the work and memory) as long as the longer side stays at least this long. 0: full size.
  uint32_t reduce_to = 0;
};

// Decodes a JPEG, PNG or WebP image (a JPEG maybe reduced: DecodeLimits::reduce_to).
// Grey, grey+alpha, palette (with or without tRNS), CMYK/YCCK JPEG and 16-bit images become
// 8-bit RGB, or RGBA when the file has alpha (kept as is). The EXIF orientation (JPEG APP1,
// PNG eXIf, WebP EXIF) is applied, so width/height are those of the upright image.
// Errors, all InvalidArgument with a message saying what is wrong: empty input, input over
// max_bytes, an unknown format (only these three reach a codec), a malformed header, a
// size over max_side, max_pixels or max_sample_bytes (checked on the header, before
// decoding), a JPEG without an
// end-of-image marker after its scan data (truncated: refused rather than decoded partially,
// as libjpeg would, padding the rest with grey), a JPEG with more than max_jpeg_scans scans,
// and data the codec rejects (corrupt or truncated PNG/WebP, a PNG without its end, a bad
// CRC in a critical PNG chunk). Out of memory is ResourceExhausted. Never throws.
Result<Image> DecodeImage(std::string_view bytes, const DecodeLimits& limits = {});

}  // namespace sparkify::vision
