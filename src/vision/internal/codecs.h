// The image codecs behind DecodeImage and the Encode* functions: libjpeg-turbo, libpng and
// libwebp called directly (OpenCV's imgcodecs is not linked by the product: it drags in GDAL,
// GDCM, OpenEXR, TIFF and JPEG 2000, none of which we accept).
//
// Private to sparkify_vision. The decoders are handed bytes whose header ParseImageHeader
// already accepted (format known, size within the limits); each checks that the bitstream
// agrees with that header and never throws: libjpeg's and libpng's errors come back as
// InvalidArgument with the library's message, out of memory as ResourceExhausted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "common/status.h"
#include "vision/image_header.h"

namespace sparkify::vision::internal {

// Baseline or progressive JPEG -> CV_8UC3 RGB, as stored (no EXIF orientation applied), at
// 1/scale_denom of its size (1, 2, 4 or 8: libjpeg's DCT scaling; sides rounded up).
// Grey becomes RGB; CMYK and YCCK (Adobe-inverted when the file says so) become RGB.
Result<cv::Mat> DecodeJpeg(std::string_view bytes, const ImageHeader& header, int scale_denom = 1);

// PNG -> CV_8UC3 RGB, or CV_8UC4 RGBA when the file has alpha (an alpha channel or tRNS).
// Grey, palette and 1/2/4-bit samples are expanded; 16-bit samples are scaled (v / 257,
// rounded); interlaced images are de-interlaced. Truncation and CRC errors in critical chunks
// are refused.
Result<cv::Mat> DecodePng(std::string_view bytes, const ImageHeader& header);

// Still WebP (lossy or lossless) -> CV_8UC3 RGB or CV_8UC4 RGBA. Animations are refused.
Result<cv::Mat> DecodeWebp(std::string_view bytes, const ImageHeader& header);

// Rows of 8-bit pixels: `channels` is 1 (grey), 3 (RGB) or 4 (RGBA); `step` bytes per row.
struct PixelRows {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 0;
  size_t step = 0;
};

// PNG of the pixels, zlib level `compression` (0..9). Levels 1-3 are the fast ones: the Paeth
// filter with run-length matching instead of adaptive filters and zlib's full search, written
// by EncodePngInParts on up to two threads (one below 256 KiB of pixels); the others by
// libpng.
Result<std::string> EncodePng(const PixelRows& pixels, int compression);

// PNG of the pixels (at least one), Paeth-filtered, deflated at zlib level `level` (1..9)
// with run-length matches only, its rows cut into `parts` that are compressed each on its own
// thread (png_writer.cpp). Requires PngInPartsTakes(pixels), else InvalidArgument.
Result<std::string> EncodePngInParts(const PixelRows& pixels, int level, int parts);
// Whether EncodePngInParts takes these pixels: at least one, at most 1 GiB of filtered rows.
bool PngInPartsTakes(const PixelRows& pixels);

// Baseline JPEG (4:2:0, quality 1..100) of RGB or RGBA pixels (alpha is dropped).
Result<std::string> EncodeJpeg(const PixelRows& pixels, int quality);

}  // namespace sparkify::vision::internal
