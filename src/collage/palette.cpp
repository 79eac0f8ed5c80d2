#include "collage/palette.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "collage/kmeans.h"

namespace sparkify::collage {
namespace {

// Sorts 24-bit keys: three 8-bit counting-sort passes (a 250x250 cover in well under 1 ms).
void RadixSort24(std::vector<uint32_t>& keys) {
  std::vector<uint32_t> tmp(keys.size());
  for (int shift = 0; shift < 24; shift += 8) {
    std::array<size_t, 257> count{};
    for (uint32_t k : keys) ++count[((k >> shift) & 0xff) + 1];
    for (size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
    for (uint32_t k : keys) tmp[count[(k >> shift) & 0xff]++] = k;
    keys.swap(tmp);
  }
}

// The counted pixels as one weighted point per distinct colour, in ascending 0xRRGGBB order.
std::vector<WeightedPoint> ColourHistogram(const Image& image) {
  const size_t ch = static_cast<size_t>(Channels(image.format));
  const bool alpha = image.format == PixelFormat::kRgba;
  std::vector<uint32_t> keys;
  keys.reserve(image.pixels.size() / ch);
  for (size_t i = 0; i + ch <= image.pixels.size(); i += ch) {
    if (alpha && image.pixels[i + 3] == 0) continue;
    keys.push_back(uint32_t{image.pixels[i]} << 16 | uint32_t{image.pixels[i + 1]} << 8 |
                   uint32_t{image.pixels[i + 2]});
  }
  RadixSort24(keys);
  std::vector<WeightedPoint> points;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    const uint32_t k = keys[i];
    points.push_back(
        WeightedPoint{Point3{double(k >> 16), double((k >> 8) & 0xff), double(k & 0xff)}, j - i});
    i = j;
  }
  return points;
}

}  // namespace

double RoundShare(double x) { return std::round(x * 100.0) / 100.0; }

Result<Palette> ComputePalette(const Image& image, const PaletteOptions& options) {
  SPARKIFY_RETURN_IF_ERROR(ValidateImage(image));
  if (options.max_side < 1) return Status::InvalidArgument("palette: max_side must be >= 1");
  if (image.width > options.max_side || image.height > options.max_side) {
    return Status::InvalidArgument("palette: image is " + std::to_string(image.width) + "x" +
                                   std::to_string(image.height) + ", larger than " +
                                   std::to_string(options.max_side) + " px; thumbnail it first");
  }
  const std::vector<WeightedPoint> points = ColourHistogram(image);
  if (points.empty()) return Status::InvalidArgument("palette: every pixel is transparent");
  uint64_t total = 0;
  for (const WeightedPoint& p : points) total += p.weight;

  KMeansOptions km;
  km.clusters = options.clusters;
  km.max_iterations = options.max_iterations;
  km.seed = options.seed;
  SPARKIFY_ASSIGN_OR_RETURN(KMeansResult clusters, KMeans(points, km));

  // KMeans returns clusters heaviest first, ties by centre: exactly the palette's order.
  Palette palette;
  palette.reserve(clusters.clusters.size());
  for (const Cluster& c : clusters.clusters) {
    palette.push_back(PaletteColor{RoundToRgb(c.centre),
                                   RoundShare(static_cast<double>(c.weight) / double(total))});
  }
  return palette;
}

Status ValidatePalette(const Palette& palette) {
  if (palette.empty()) return Status::InvalidArgument("palette: no colours");
  for (const PaletteColor& c : palette) {
    if (!std::isfinite(c.share) || c.share < 0 || c.share > 1) {
      return Status::InvalidArgument("palette: a share is not a number in [0, 1]");
    }
  }
  return Status::OK();
}

}  // namespace sparkify::collage
