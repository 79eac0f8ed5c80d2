// Cut-outs (image + mask -> RGBA PNG with soft alpha, plus the cropped/uncropped decision)
// and the encoding and thumbnail helpers the function needs around them.
// All functions are pure and thread-safe; errors are values, nothing throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "vision/image.h"
#include "vision/mask_quality.h"

namespace sparkify::vision {

struct CutOutOptions {
  // A cover is cut out ("cropped") when its foreground share is at least this. Default: 0.10,
  // the original app's threshold.
  double crop_threshold = 0.10;
  // zlib level for the PNG (0..9). Default: 3, the fastest kind (Paeth filter, run-length
  // matches; see EncodePng).
  int png_compression = 3;
  // Clean the edges (refine.h): crisp subject with a thin soft band, colours under the band
  // from the subject. false: the model's mask as it is. Default: true.
  bool refine = true;
  // Crop the PNG to the subject (its non-transparent pixels) plus a margin of 1.5% of the
  // image's longer side (at least 2 pixels): the collage sizes subjects, not their empty
  // surroundings. An image without any visible pixel keeps its size. Default: true.
  bool crop_to_subject = true;
};

struct CutOutResult {
  std::string png;              // RGBA PNG; alpha = mask * existing alpha
  int width = 0, height = 0;    // the PNG's size (the image's, or its subject's crop)
  double foreground_share = 0;  // ForegroundShare(mask), of the model's mask
  bool cropped = false;         // foreground_share >= crop_threshold
  MaskQuality quality;          // ScoreMask(mask), of the model's mask
};

// Fraction of the mask's pixels with value >= 0.5 (0 for an empty mask).
double ForegroundShare(const Mask& mask);

// The subject of `image` on a transparent background: alpha = round(refined mask * existing
// alpha), the existing alpha being 255 for RGB; RGB unchanged but under the refined mask's
// soft band (options.refine; else the raw mask, RGB unchanged everywhere). The PNG is always
// produced; `cropped` says whether the caller should use it. InvalidArgument when the mask is not
// the image's size or the image is not 8-bit RGB/RGBA; Internal when encoding fails.
Result<CutOutResult> CutOut(const Image& image, const Mask& mask,
                            const CutOutOptions& options = {});

// PNG of an RGB or RGBA image (zlib level 0..9; 1-3: the Paeth filter with run-length
// matches, several times faster than the adaptive filters of levels 4-9 on cut-outs).
Result<std::string> EncodePng(const Image& image, int compression = 3);

// 8-bit grey PNG of a mask (0..1 -> 0..255, rounded): for looking at what the model saw.
Result<std::string> EncodeMaskPng(const Mask& mask, int compression = 3);

// Baseline JPEG of an image (quality 1..100); alpha is dropped.
Result<std::string> EncodeJpeg(const Image& image, int quality = 90);

// Packed 8-bit RGB pixels, row-major, no padding: data.size() == width * height * 3.
struct RgbPixels {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;
};

// The image shrunk (INTER_AREA, aspect kept) so that its longer side is at most `max_side`
// (never enlarged), alpha dropped (the colour under it kept), as packed RGB: the input of
// palette computation. InvalidArgument for max_side < 1 or an empty image.
Result<RgbPixels> ThumbnailRgb(const Image& image, int max_side);

}  // namespace sparkify::vision
