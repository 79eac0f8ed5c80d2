// Collage selection: which covers make the collage, the background colour, and which covers
// get their subject cut out. Steps 3 and 4 of the original app (docs/product.md), on palettes
// already computed (palette.h); no pixels, no I/O.
//
//  1. Predominant colours: k-means with 5 clusters over every cover's palette colours, each
//     colour weighted by round(share*100) (the original repeated it that many times).
//  2. Dominant colour: the first predominant colour that is neither too dark (R+G+B < 130) nor
//     too light (R+G+B > 765-130), else the first. "First" is the order of the k-means result:
//     cluster weight descending (how many repeated colours it gathered), equal weights by centre
//     ascending (R, G, B), so the choice is deterministic.
//  3. Score of a cover: sum over its palette of share * CIE76 distance (color.h) to the dominant
//     colour; lower is closer. The 12 lowest are kept.
//  4. Complementary colour: 255-c per channel. Each palette colour within CIE76 distance 35
//     (inclusive) of it reduces the cover's score by score*share*0.6. When several colours
//     qualify, each applies in turn to the score left by the previous ones, i.e. the score is
//     multiplied by (1 - 0.6*share) per qualifying colour; being products, the order does not
//     matter and the score stays >= 0. The 9 lowest adjusted scores make the collage.
//  5. The 9 are shuffled (Fisher-Yates, seeded) and the first round(0.6*9) = 5 in shuffled
//     order are marked for cut-out.
// Equal scores are ordered by rank, then by position in the input.
//
// Thread-safe: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collage/color.h"
#include "collage/palette.h"
#include "common/status.h"

namespace sparkify::collage {

struct Cover {
  std::string id;   // the caller's handle (URL, object key, ...); not interpreted
  int rank = 0;     // 0 = most listened; REQUIRES >= 0
  Palette palette;  // REQUIRES: ValidatePalette(palette).ok()
};

struct SelectionOptions {
  // Clusters of the k-means over all covers' colours. Default: 5. REQUIRES: 1..256.
  int predominant_colors = 5;
  // Lloyd rounds at most for that k-means. Default: 300.
  int max_iterations = 300;
  // Seeds that k-means (k-means++). Default: 0. Kept apart from shuffle_seed so that
  // "Regenerate" (a new shuffle_seed) reshuffles without changing the colours or the covers.
  uint64_t kmeans_seed = 0;
  // A colour with R+G+B below this is too dark to be the dominant colour. Default: 130.
  int too_dark_below = 130;
  // A colour with R+G+B above 765 minus this is too light. Default: 130 (i.e. above 635).
  int too_light_margin = 130;
  // How many covers survive the distance ranking. Default: 12.
  size_t keep_closest = 12;
  // How many of those make the collage after the complementary adjustment. Default: 9.
  // REQUIRES: 1 <= collage_size <= keep_closest.
  size_t collage_size = 9;
  // CIE76 distance within which (inclusive) a colour counts as complementary. Default: 35.
  double complementary_distance = 35.0;
  // Fraction of score*share taken off per complementary colour. Default: 0.6. In [0, 1].
  double complementary_factor = 0.6;
  // Fraction of the collage cut out: round(fraction * n), halves up. Default: 0.6. In [0, 1].
  double cut_out_fraction = 0.6;
  // Seeds the shuffle. Default: 0.
  uint64_t shuffle_seed = 0;
};

struct PredominantColor {
  Rgb color;        // cluster centre, rounded
  double share;     // its weight over the total, rounded to 2 decimals
  uint64_t weight;  // sum of round(share*100) of the palette colours in the cluster
};

struct ChosenCover {
  std::string id;
  int rank = 0;
  Palette palette;
  double distance = 0;       // score before the complementary adjustment
  double score = 0;          // after it; the collage is ordered by this, lowest first
  bool cut_out = false;      // selected for a subject cut-out
  int shuffle_position = 0;  // 0-based place in the shuffled order
};

struct Collage {
  Rgb dominant;
  Rgb complementary;
  std::vector<PredominantColor> predominant;  // k-means order, see step 2
  // min(collage_size, number of covers) covers, lowest score first (ties: rank, then input
  // order); shuffle_position is a permutation of 0..n-1, and cut_out is set on exactly those
  // with shuffle_position < round(cut_out_fraction * n).
  std::vector<ChosenCover> covers;
};

// Steps 1-5. Fewer covers than collage_size: all are kept.
// InvalidArgument: no covers, a negative rank, an invalid palette, no palette colour with a
// share of at least 0.005 (nothing to weigh), or options out of range.
Result<Collage> SelectCollage(std::span<const Cover> covers, const SelectionOptions& options = {});

// The building blocks of SelectCollage, for tests and for callers that show intermediate
// results. REQUIRES for all: valid covers, palettes and options as above.
Status ValidateSelectionOptions(const SelectionOptions& options);
// Step 1.
Result<std::vector<PredominantColor>> PredominantColors(std::span<const Cover> covers,
                                                        const SelectionOptions& options);
// Step 2. REQUIRES: !predominant.empty().
Rgb PickDominant(std::span<const PredominantColor> predominant, const SelectionOptions& options);
// Step 3 for one palette.
double DistanceScore(const Palette& palette, Rgb dominant);
// Step 4 for one palette.
double ComplementaryAdjusted(double score, const Palette& palette, Rgb complementary,
                             const SelectionOptions& options);

}  // namespace sparkify::collage
