#include "collage/selection.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "collage/kmeans.h"
#include "collage/random.h"

namespace sparkify::collage {
namespace {

// A cover on its way through the ranking: its index in the input and its scores.
struct Candidate {
  size_t index;
  double distance;
  double score;
};

// Lowest score first; equal scores by rank, then by input order.
void SortByScore(std::vector<Candidate>& candidates, std::span<const Cover> covers) {
  std::sort(candidates.begin(), candidates.end(), [&](const Candidate& x, const Candidate& y) {
    if (x.score != y.score) return x.score < y.score;
    if (covers[x.index].rank != covers[y.index].rank) {
      return covers[x.index].rank < covers[y.index].rank;
    }
    return x.index < y.index;
  });
}

Status ValidateCovers(std::span<const Cover> covers) {
  if (covers.empty()) return Status::InvalidArgument("collage: no covers");
  for (const Cover& c : covers) {
    if (c.rank < 0) return Status::InvalidArgument("collage: cover '" + c.id + "' has rank < 0");
    Status s = ValidatePalette(c.palette);
    if (!s.ok()) return Status::InvalidArgument("collage: cover '" + c.id + "': " + s.message());
  }
  return Status::OK();
}

uint32_t Pack(Rgb c) { return uint32_t{c.r} << 16 | uint32_t{c.g} << 8 | c.b; }

}  // namespace

Status ValidateSelectionOptions(const SelectionOptions& o) {
  if (o.predominant_colors < 1) {
    return Status::InvalidArgument("collage: predominant_colors must be >= 1");
  }
  if (o.max_iterations < 1) return Status::InvalidArgument("collage: max_iterations must be >= 1");
  if (o.collage_size < 1 || o.collage_size > o.keep_closest) {
    return Status::InvalidArgument("collage: need 1 <= collage_size <= keep_closest");
  }
  if (!(o.complementary_distance >= 0) || !std::isfinite(o.complementary_distance)) {
    return Status::InvalidArgument("collage: complementary_distance must be finite and >= 0");
  }
  if (!(o.complementary_factor >= 0 && o.complementary_factor <= 1)) {
    return Status::InvalidArgument("collage: complementary_factor must be in [0, 1]");
  }
  if (!(o.cut_out_fraction >= 0 && o.cut_out_fraction <= 1)) {
    return Status::InvalidArgument("collage: cut_out_fraction must be in [0, 1]");
  }
  return Status::OK();
}

Result<std::vector<PredominantColor>> PredominantColors(std::span<const Cover> covers,
                                                        const SelectionOptions& options) {
  // Identical colours are merged (weights add up), which k-means cannot tell from repeats;
  // the map also fixes the points' order (ascending 0xRRGGBB), hence the seeding.
  std::map<uint32_t, uint64_t> weights;
  for (const Cover& cover : covers) {
    for (const PaletteColor& c : cover.palette) {
      const auto repeats = static_cast<uint64_t>(std::llround(c.share * 100));
      if (repeats > 0) weights[Pack(c.color)] += repeats;
    }
  }
  if (weights.empty()) {
    return Status::InvalidArgument("collage: no palette colour has a share of at least 0.005");
  }
  std::vector<WeightedPoint> points;
  uint64_t total = 0;
  for (const auto& [key, weight] : weights) {
    points.push_back(WeightedPoint{
        Point3{double(key >> 16), double((key >> 8) & 0xff), double(key & 0xff)}, weight});
    total += weight;
  }
  KMeansOptions km;
  km.clusters = options.predominant_colors;
  km.max_iterations = options.max_iterations;
  km.seed = options.kmeans_seed;
  SPARKIFY_ASSIGN_OR_RETURN(KMeansResult result, KMeans(points, km));
  std::vector<PredominantColor> out;
  for (const Cluster& c : result.clusters) {
    out.push_back(PredominantColor{RoundToRgb(c.centre),
                                   RoundShare(double(c.weight) / double(total)), c.weight});
  }
  return out;
}

Rgb PickDominant(std::span<const PredominantColor> predominant, const SelectionOptions& options) {
  for (const PredominantColor& p : predominant) {
    const int sum = p.color.Sum();
    if (sum >= options.too_dark_below && sum <= 765 - options.too_light_margin) return p.color;
  }
  return predominant.front().color;
}

double DistanceScore(const Palette& palette, Rgb dominant) {
  const Lab target = RgbToLab(dominant);
  double score = 0;
  for (const PaletteColor& c : palette) score += c.share * DeltaE76(RgbToLab(c.color), target);
  return score;
}

double ComplementaryAdjusted(double score, const Palette& palette, Rgb complementary,
                             const SelectionOptions& options) {
  const Lab target = RgbToLab(complementary);
  for (const PaletteColor& c : palette) {
    if (DeltaE76(RgbToLab(c.color), target) <= options.complementary_distance) {
      score -= score * c.share * options.complementary_factor;
    }
  }
  return score;
}

Result<Collage> SelectCollage(std::span<const Cover> covers, const SelectionOptions& options) {
  SPARKIFY_RETURN_IF_ERROR(ValidateSelectionOptions(options));
  SPARKIFY_RETURN_IF_ERROR(ValidateCovers(covers));
  Collage collage;
  SPARKIFY_ASSIGN_OR_RETURN(collage.predominant, PredominantColors(covers, options));
  collage.dominant = PickDominant(collage.predominant, options);
  collage.complementary = Complementary(collage.dominant);

  std::vector<Candidate> candidates;
  candidates.reserve(covers.size());
  for (size_t i = 0; i < covers.size(); ++i) {
    const double d = DistanceScore(covers[i].palette, collage.dominant);
    candidates.push_back(Candidate{i, d, d});
  }
  SortByScore(candidates, covers);
  if (candidates.size() > options.keep_closest) candidates.resize(options.keep_closest);

  for (Candidate& c : candidates) {
    c.score =
        ComplementaryAdjusted(c.distance, covers[c.index].palette, collage.complementary, options);
  }
  SortByScore(candidates, covers);
  if (candidates.size() > options.collage_size) candidates.resize(options.collage_size);

  // Fisher-Yates: order[p] is the candidate at shuffled position p.
  const size_t n = candidates.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 engine(options.shuffle_seed);
  for (size_t i = n; i > 1; --i) {
    std::swap(order[i - 1], order[internal::UniformBelow(engine, i)]);
  }
  const auto cut_outs = static_cast<size_t>(std::llround(options.cut_out_fraction * double(n)));

  collage.covers.resize(n);
  for (size_t p = 0; p < n; ++p) {
    const Candidate& c = candidates[order[p]];
    ChosenCover& out = collage.covers[order[p]];
    out.id = covers[c.index].id;
    out.rank = covers[c.index].rank;
    out.palette = covers[c.index].palette;
    out.distance = c.distance;
    out.score = c.score;
    out.cut_out = p < cut_outs;
    out.shuffle_position = static_cast<int>(p);
  }
  return collage;
}

}  // namespace sparkify::collage
