// What the pipeline produces for one request: the covers (cut out or not), the collage
// colours, and one error per input that could not be used. Plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collage/color.h"
#include "collage/palette.h"
#include "function/event.h"

namespace sparkify::function {

struct CoverResult {
  InputRef input;
  collage::Palette palette;       // collage: the cover's colours; segment: empty
  std::optional<double> score;    // collage: the selection score (lower = closer)
  int position = 0;               // collage: place in the shuffled collage; segment: rank
  std::string cutout_key;         // the cut-out's key in the bucket, when one was made
  std::optional<double> foreground_share;  // when a cut-out was made or found
  // vision::ScoreMask(mask).score of the model's mask, when a cut-out was made or found
  std::optional<double> mask_quality;
  // The cut-out PNG's size (cropped to its subject), when known.
  int cutout_width = 0, cutout_height = 0;
  // Shown as a cut-out: its mask is a confident subject (mask_quality >= 0.5) whose share
  // reached the threshold; in a collage, also among the best round(0.6 * n) of those.
  bool cropped = false;
  bool cache_hit = false;         // the cut-out was already in the bucket (no model run)
};

// Why one input was left out. stage: "fetch", "read", "decode", "palette", "segment",
// "store", "deadline", "limit" (over max_covers), "duplicate" (the same picture as another
// input of the collage, which is kept).
struct InputError {
  InputRef input;
  std::string stage;
  std::string reason;
};

struct PipelineStats {
  std::string model;        // e.g. "isnet-general-medium-fp32@1024"; empty if never needed
  int inputs = 0;           // processed (not counting dropped ones)
  int segmented = 0;        // model runs
  int cache_hits = 0;       // cut-outs found in the bucket
  double load_ms = 0;       // fetching/reading, decoding and palettes (parallel)
  double select_ms = 0;
  double cutout_ms = 0;     // HEADs, model runs, PNGs and PUTs
  double total_ms = 0;
};

struct PipelineResult {
  Operation op = Operation::kCollage;
  // collage: the collage's covers in shuffled order; segment: the inputs in rank order.
  std::vector<CoverResult> cropped;
  std::vector<CoverResult> uncropped;
  std::optional<collage::Rgb> dominant;       // collage only
  std::optional<collage::Rgb> complementary;  // collage only
  std::vector<InputError> errors;
  PipelineStats stats;
};

}  // namespace sparkify::function
