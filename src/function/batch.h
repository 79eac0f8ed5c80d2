// Batch cut-outs of local files (`sparkify segment`): one file in, one RGBA PNG out.
// Pure apart from the files named; thread-safe (the segmenter serialises its forward pass).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "vision/image.h"
#include "vision/segmenter.h"

namespace sparkify::function {

struct FileCutout {
  double foreground_share = 0;
  double mask_quality = 0;  // vision::ScoreMask's score of the model's mask
  // Shown cut out, as the function decides (pipeline.h): share >= threshold and the mask a
  // confident subject (mask_quality >= vision::kSubjectThreshold). The PNG is written either
  // way; when false, the function shows the whole cover instead.
  bool cropped = false;
  int width = 0;         // the input image's size
  int height = 0;
  int cutout_width = 0;  // the PNG's: cropped to the subject (vision::CutOutOptions)
  int cutout_height = 0;
};

struct FileCutoutOptions {
  double threshold = 0.10;
  int png_compression = 3;
  vision::DecodeLimits limits;
  // Where to write the model's mask as an 8-bit grey PNG too; empty: nowhere.
  std::string mask_output;
};

// Reads `input`, segments the whole image, writes the cut-out PNG to `output` (atomically:
// a temporary file renamed into place), and the mask to options.mask_output when set. The PNG
// is written whether or not the share reaches the threshold. Errors: NotFound/IOError (reading or writing), InvalidArgument (not a
// decodable image, with DecodeImage's reason), the segmenter's errors.
Result<FileCutout> CutOutFile(const std::string& input, const std::string& output,
                              vision::Segmenter& segmenter, const FileCutoutOptions& options);

// "<out_dir>/<input's name without extension>.png" for each input, made unique with "-2",
// "-3"... when two inputs share a name ("a.jpg", "b/a.png").
// MaskPath("out/a.png") is "out/a.mask.png".
std::string MaskPath(const std::string& cutout_path);
std::vector<std::string> CutoutPaths(const std::vector<std::string>& inputs,
                                     const std::string& out_dir);

}  // namespace sparkify::function
