// The original app's collage look, made deterministic per seed (see layout.h).
//
// Cut-outs are sorted by rank; the i-th (0 = most listened) gets a size that shrinks and a
// distance from the centre that grows with i, on a golden-angle spiral turned by the seed,
// tilted alternately left and right. Uncropped covers are smaller than every cut-out and sit
// on a ring near the edge, behind all cut-outs. Every centre is chosen so that the item's
// rotated bounding box stays on the canvas whenever it fits.
#include "layout/layout.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sparkify::layout {
namespace {

// splitmix64: a tiny, well-mixed generator whose sequence is the same on every platform
// (std:: distributions are not specified bit-for-bit across standard libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ^ 0x5a17f1e5c011a9e5ULL) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform(double lo, double hi) {  // [lo, hi)
    return lo + (hi - lo) * static_cast<double>(Next() >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t state_;
};

// Proportions of the canvas side, for a collage of kFullCount images (the original showed 9);
// other counts scale everything by sqrt(kFullCount / count), up to kMostEnlarged for a few.
constexpr double kFullCount = 9;
constexpr double kMostEnlarged = 1.3;
constexpr double kLargestCutout = 0.52;
constexpr double kSmallestCutout = 0.30;
constexpr double kCover = 0.26;
constexpr double kCoverToSmallestCutout = 0.85;  // covers stay clearly smaller than cut-outs
constexpr double kFirstCutoutRadius = 0.05;      // rank 0 sits (almost) in the middle
constexpr double kLastCutoutRadius = 0.30;
constexpr double kCoverRadius = 0.36;
constexpr double kMinTilt = 4, kMaxTilt = 14;  // cut-outs, degrees
constexpr double kCoverTilt = 8;               // covers: up to +-8 degrees
constexpr double kMaxTiltRad = 15 * std::numbers::pi / 180;
constexpr double kGoldenAngle = 2.399963229728653;  // radians

// Drawn size for an item whose longer side is `side`, keeping its aspect ratio.
void SetSize(const Item& item, double side, Placement& p) {
  p.width = p.height = side;
  if (item.width > 0 && item.height > 0) {
    if (item.width >= item.height) {
      p.height = std::max(1.0, side * item.height / item.width);
    } else {
      p.width = std::max(1.0, side * item.width / item.height);
    }
  }
}

// Half the side of the square that holds the placement at any tilt up to kMaxTiltRad.
double HalfExtent(double side) {
  return 0.5 * side * (std::cos(kMaxTiltRad) + std::sin(kMaxTiltRad));
}

// Keeps the centre where the item's (maximally tilted) box lies on the canvas; an item too
// big for that is centred on that axis.
double Clamp(double v, double half, double size) {
  if (2 * half >= size) return size / 2;
  return std::clamp(v, half, size - half);
}

}  // namespace

Layout Arrange(const std::vector<Item>& items, const Rgb& background, uint64_t seed,
               const LayoutOptions& options) {
  Layout out;
  out.size = options.size > 0 ? options.size : LayoutOptions{}.size;
  out.background = background;
  if (items.empty()) return out;
  const double size = out.size;
  const double center = size / 2;

  // Rank order (ties keep input order), cut-outs and covers apart.
  std::vector<size_t> cutouts, covers;
  for (size_t i = 0; i < items.size(); ++i) {
    (items[i].kind == Item::Kind::kCutout ? cutouts : covers).push_back(i);
  }
  auto by_rank = [&](size_t a, size_t b) { return items[a].rank < items[b].rank; };
  std::stable_sort(cutouts.begin(), cutouts.end(), by_rank);
  std::stable_sort(covers.begin(), covers.end(), by_rank);

  const double scale =
      std::clamp(std::sqrt(kFullCount / static_cast<double>(items.size())), 0.0, kMostEnlarged);
  Rng rng(seed);
  const double turn = rng.Uniform(0, 2 * std::numbers::pi);
  const double first_tilt_sign = rng.Next() & 1 ? 1.0 : -1.0;

  std::vector<Placement> front;
  const size_t n = cutouts.size();
  double smallest_cutout = size;
  for (size_t i = 0; i < n; ++i) {
    const double t = n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
    Placement p;
    p.item = cutouts[i];
    const double side = size * scale * (kLargestCutout + (kSmallestCutout - kLargestCutout) * t);
    smallest_cutout = std::min(smallest_cutout, side);
    SetSize(items[p.item], side, p);
    // Distance grows with i and never past where the tilted box still fits, so that
    // distances stay ordered by rank (both bounds grow with i: sizes shrink).
    const double half = HalfExtent(side);
    const double wanted =
        size * (kFirstCutoutRadius + (kLastCutoutRadius - kFirstCutoutRadius) * t);
    const double radius = std::max(0.0, std::min(wanted, center - half));
    const double angle = turn + kGoldenAngle * static_cast<double>(i) + rng.Uniform(-0.35, 0.35);
    p.x = Clamp(center + radius * std::cos(angle), half, size);
    p.y = Clamp(center + radius * std::sin(angle), half, size);
    const double sign = (i % 2 == 0) ? first_tilt_sign : -first_tilt_sign;
    p.rotation = sign * rng.Uniform(kMinTilt, kMaxTilt);
    front.push_back(p);
  }

  std::vector<Placement> back;
  const size_t m = covers.size();
  const double cover_side =
      std::min(size * scale * kCover, n > 0 ? smallest_cutout * kCoverToSmallestCutout : size);
  const double cover_turn = rng.Uniform(0, 2 * std::numbers::pi);
  for (size_t j = 0; j < m; ++j) {
    Placement p;
    p.item = covers[j];
    SetSize(items[p.item], cover_side, p);
    const double half = HalfExtent(cover_side);
    const double radius = std::max(0.0, std::min(size * kCoverRadius, center - half));
    const double step = 2 * std::numbers::pi / static_cast<double>(m);
    const double angle =
        cover_turn + step * static_cast<double>(j) + rng.Uniform(-0.25, 0.25) * step;
    p.x = Clamp(center + radius * std::cos(angle), half, size);
    p.y = Clamp(center + radius * std::sin(angle), half, size);
    p.rotation = rng.Uniform(-kCoverTilt, kCoverTilt);
    back.push_back(p);
  }

  // Paint order: all covers, then all cut-outs; within each, the best rank is drawn last.
  int z = 0;
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    it->z = z++;
    out.placements.push_back(*it);
  }
  for (auto it = front.rbegin(); it != front.rend(); ++it) {
    it->z = z++;
    out.placements.push_back(*it);
  }
  return out;
}

}  // namespace sparkify::layout
