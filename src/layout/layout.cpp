// The collage's composition (see layout.h), deterministic per seed.
#include "layout/layout.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tuple>

namespace sparkify::layout {
namespace {

constexpr double kPi = std::numbers::pi;

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
  double Sign() { return Next() & 1 ? 1.0 : -1.0; }
  template <class T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Next() % i]);
  }

 private:
  uint64_t state_;
};

// Proportions, as fractions of the canvas side.
constexpr double kMargin = 0.012;      // between any image and the canvas edge
constexpr double kFrameInset = 0.028;  // the frame line
constexpr double kFrameWidth = 0.004;
constexpr double kPrintBorder = 0.05;  // a print's white border, of the print's side
constexpr double kCoverJitter = 0.05;
constexpr double kMainHeroY = 0.52;
constexpr double kHeroRing = 0.34;
constexpr double kMarkWidth = 0.006;

Rgb Scale(const Rgb& c, double f) {
  return {static_cast<uint8_t>(std::lround(c[0] * f)), static_cast<uint8_t>(std::lround(c[1] * f)),
          static_cast<uint8_t>(std::lround(c[2] * f))};
}

Rgb Mix(const Rgb& a, const Rgb& b, double t) {
  Rgb out;
  for (size_t i = 0; i < 3; ++i)
    out[i] = static_cast<uint8_t>(std::lround(a[i] + (b[i] - a[i]) * t));
  return out;
}

// WCAG relative luminance and contrast ratio.
double Luminance(const Rgb& c) {
  double l[3];
  for (size_t i = 0; i < 3; ++i) {
    const double s = c[i] / 255.0;
    l[i] = s <= 0.03928 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
  }
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}
double Contrast(const Rgb& a, const Rgb& b) {
  const double la = Luminance(a), lb = Luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

// Width and height for an item whose longer side is `side`, keeping its aspect ratio.
std::pair<double, double> Fit(const Item& item, double side) {
  if (item.width <= 0 || item.height <= 0) return {side, side};
  if (item.width >= item.height) return {side, std::max(1.0, side * item.height / item.width)};
  return {std::max(1.0, side * item.width / item.height), side};
}

// Keeps the placement's rotated box inside the canvas (with the margin) by moving its centre;
// a box too big for that is centred on that axis.
void KeepInside(Placement& p, double size) {
  const double t = p.rotation * kPi / 180;
  const double hx = 0.5 * (p.width * std::abs(std::cos(t)) + p.height * std::abs(std::sin(t)));
  const double hy = 0.5 * (p.width * std::abs(std::sin(t)) + p.height * std::abs(std::cos(t)));
  const double m = kMargin * size;
  auto clamp = [&](double v, double half) {
    if (2 * (half + m) >= size) return size / 2;
    return std::clamp(v, half + m, size - half - m);
  };
  p.x = clamp(p.x, hx);
  p.y = clamp(p.y, hy);
}

struct Cell {
  int col, row;
};

// The 3x3 grid's cells: corners first, then the edges' middles, then the centre, each group
// in an order the seed picks.
std::vector<Cell> CellOrder(Rng& rng) {
  std::vector<Cell> corners = {{0, 0}, {2, 0}, {0, 2}, {2, 2}};
  std::vector<Cell> edges = {{1, 0}, {0, 1}, {2, 1}, {1, 2}};
  rng.Shuffle(corners);
  rng.Shuffle(edges);
  std::vector<Cell> out = corners;
  out.insert(out.end(), edges.begin(), edges.end());
  out.push_back({1, 1});
  return out;
}

double CellCentre(int index, double size) { return size * (1 + 2 * index) / 6.0; }

// The backdrop: whole covers as framed prints, one per cell, corners first.
std::vector<Placement> Backdrop(const std::vector<Item>& items, const std::vector<size_t>& covers,
                                const std::vector<Cell>& cells, double size, Rng& rng) {
  const size_t m = covers.size();
  const double side = size * (m <= 2 ? 0.42 : m <= 4 ? 0.40 : m <= 6 ? 0.36 : 0.34);
  std::vector<Placement> out;
  for (size_t j = 0; j < m; ++j) {
    const Item& item = items[covers[j]];
    Placement p;
    p.item = covers[j];
    const double border = kPrintBorder * side;
    auto [w, h] = Fit(item, side - 2 * border);
    p.width = w + 2 * border;
    p.height = h + 2 * border;
    p.frame = border;
    p.shadow = true;
    const Cell c = cells[j % cells.size()];
    p.x = CellCentre(c.col, size) + rng.Uniform(-kCoverJitter, kCoverJitter) * size;
    p.y = CellCentre(c.row, size) + rng.Uniform(-kCoverJitter, kCoverJitter) * size;
    // Drawn apart: the order of two calls in one expression is unspecified, and a seed must
    // mean one layout whichever compiler built the replica.
    const double sign = rng.Sign();
    p.rotation = sign * rng.Uniform(3, 11);
    KeepInside(p, size);
    out.push_back(p);
  }
  rng.Shuffle(out);  // which print lies on which
  return out;
}

// The heroes: the best mask largest, near the centre; the others around it, toward the
// corners the backdrop left empty first.
std::vector<Placement> Heroes(const std::vector<Item>& items, const std::vector<size_t>& heroes,
                              std::vector<Cell> empty_corners, double size, Rng& rng) {
  const size_t n = heroes.size();
  std::vector<Placement> out;
  if (n == 0) return out;
  const double main_side = size * (n == 1   ? 0.62
                                   : n == 2 ? 0.54
                                   : n == 3 ? 0.50
                                   : n == 4 ? 0.48
                                            : 0.46);
  const double turn = rng.Uniform(0, 2 * kPi);
  const double first_sign = rng.Sign();
  for (size_t i = 0; i < n; ++i) {
    const Item& item = items[heroes[i]];
    Placement p;
    p.item = heroes[i];
    p.shadow = true;
    double side = main_side;
    if (i > 0) {
      side =
          size * std::max(0.26, 0.38 - 0.025 * static_cast<double>(i - 1)) * (n >= 6 ? 0.9 : 1.0);
    }
    std::tie(p.width, p.height) = Fit(item, side);
    if (i == 0) {
      p.x = size * (0.5 + rng.Uniform(-0.03, 0.03));
      p.y = size * (kMainHeroY + rng.Uniform(-0.03, 0.03));
      p.rotation = first_sign * rng.Uniform(1.5, 4.5);
      if (empty_corners.size() == n) {
        // One empty corner more than other heroes: the main one leans into it. (With fewer
        // than four images some corner stays empty; the main one then keeps the centre.)
        const Cell c = empty_corners.front();
        empty_corners.erase(empty_corners.begin());
        p.x += (CellCentre(c.col, size) - p.x) * 0.6;
        p.y += (CellCentre(c.row, size) - p.y) * 0.6;
      }
    } else {
      if (!empty_corners.empty()) {
        // Toward an empty corner, pulled a quarter of the way back to the centre.
        const Cell c = empty_corners.back();
        empty_corners.pop_back();
        const double cx = CellCentre(c.col, size), cy = CellCentre(c.row, size);
        p.x = cx + (size / 2 - cx) * 0.25 + rng.Uniform(-0.03, 0.03) * size;
        p.y = cy + (size / 2 - cy) * 0.25 + rng.Uniform(-0.03, 0.03) * size;
      } else {
        const double angle = turn +
                             2 * kPi * static_cast<double>(i - 1) / static_cast<double>(n - 1) +
                             rng.Uniform(-0.25, 0.25);
        p.x = size / 2 + kHeroRing * size * std::cos(angle);
        p.y = size * kMainHeroY + kHeroRing * size * std::sin(angle);
      }
      p.rotation = (i % 2 == 1 ? -first_sign : first_sign) * rng.Uniform(4, 10);
    }
    KeepInside(p, size);
    out.push_back(p);
  }
  return out;
}

// A plus-shaped sparkle of arm length `arm` at (x, y).
void Sparkle(double x, double y, double arm, const Stroke& style, std::vector<Stroke>& out) {
  Stroke a = style, b = style;
  a.points = {{x - arm, y}, {x + arm, y}};
  b.points = {{x, y - arm}, {x, y + arm}};
  out.push_back(a);
  out.push_back(b);
}

// How far (x, y) is from the placement's rotated box: 0 inside it.
double DistanceToBox(const Placement& p, double x, double y) {
  const double t = p.rotation * kPi / 180;
  // Into the box's own axes (rotating back by its angle), then to its nearest point.
  const double dx = x - p.x, dy = y - p.y;
  const double u = dx * std::cos(t) + dy * std::sin(t), v = -dx * std::sin(t) + dy * std::cos(t);
  const double ou = std::max(std::abs(u) - p.width / 2, 0.0);
  const double ov = std::max(std::abs(v) - p.height / 2, 0.0);
  return std::hypot(ou, ov);
}

// Whether a disk of `radius` at (x, y) shows the ground only: clear of every image's box.
bool OnTheGround(const std::vector<Placement>& placed, double x, double y, double radius) {
  for (const Placement& p : placed) {
    if (DistanceToBox(p, x, y) < radius) return false;
  }
  return true;
}

// The marks go where the ground shows: drawn over a print or a cut-out they read as a glitch
// on the picture (a sparkle on the astronaut's helmet). Two sparkles at spots just inside the
// frame line, corners first, apart from each other; a squiggle along the top or the bottom
// edge, clear of them. Where the images leave no room, fewer marks.
std::vector<Stroke> Marks(const Layout& lay, const Rgb& colour, Rng& rng) {
  const double size = lay.size;
  Stroke style;
  style.width = kMarkWidth * size;
  style.color = colour;
  style.opacity = 0.9;
  const double clear = 0.012 * size;  // ground between a mark and any image
  std::vector<Stroke> out;
  std::vector<std::pair<double, double>> corners = {
      {0.085, 0.085}, {0.915, 0.085}, {0.085, 0.915}, {0.915, 0.915}};
  std::vector<std::pair<double, double>> edges;
  for (double f : {0.3, 0.5, 0.7}) {
    edges.insert(edges.end(), {{f, 0.085}, {f, 0.915}, {0.085, f}, {0.915, f}});
  }
  rng.Shuffle(corners);
  rng.Shuffle(edges);
  std::vector<std::pair<double, double>> spots = corners;
  spots.insert(spots.end(), edges.begin(), edges.end());
  std::vector<std::pair<double, double>> sparkles;  // centres, canvas pixels
  for (const auto& [fx, fy] : spots) {
    if (sparkles.size() == 2) break;
    const double x = fx * size, y = fy * size, arm = size * rng.Uniform(0.016, 0.024);
    bool apart = true;
    for (const auto& [sx, sy] : sparkles) apart = apart && std::hypot(x - sx, y - sy) > 0.3 * size;
    if (!apart || !OnTheGround(lay.placements, x, y, arm + style.width + clear)) continue;
    Sparkle(x, y, arm, style, out);
    sparkles.emplace_back(x, y);
  }
  // The squiggle: along the top or the bottom edge, at the first place (of a few the seed
  // orders) clear of the images and the sparkles.
  const double length = size * 0.16, amp = size * 0.011;
  std::vector<std::pair<double, double>> starts;  // (x0, y0) as fractions
  for (double fx : {0.30, 0.42, 0.54, 0.14, 0.70}) {
    starts.insert(starts.end(), {{fx, 0.06}, {fx, 0.94}});
  }
  rng.Shuffle(starts);
  for (const auto& [fx, fy] : starts) {
    Stroke wave = style;
    bool free = true;
    for (int k = 0; k <= 24 && free; ++k) {
      const double t = k / 24.0;
      const double x = fx * size + length * t, y = fy * size + amp * std::sin(t * 2.5 * 2 * kPi);
      free = OnTheGround(lay.placements, x, y, style.width + clear);
      for (const auto& [sx, sy] : sparkles) free = free && std::hypot(x - sx, y - sy) > 0.08 * size;
      wave.points.emplace_back(x, y);
    }
    if (!free) continue;
    out.push_back(std::move(wave));
    break;
  }
  return out;
}

}  // namespace

Layout Arrange(const std::vector<Item>& items, const Rgb& background, const Rgb& accent,
               uint64_t seed, const LayoutOptions& options) {
  Layout out;
  out.size = options.size > 0 ? options.size : LayoutOptions{}.size;
  const double size = out.size;
  out.background = background;
  out.background_edge = Scale(background, 0.82);
  out.frame_color = Mix(background, {255, 255, 255}, 0.5);
  out.frame_inset = kFrameInset * size;
  out.frame_width = kFrameWidth * size;
  out.shadow = Shadow{0, 0.012 * size, 0.03 * size, 0.42};
  if (items.empty()) return out;

  // Heroes by mask quality (ties: rank), backdrop covers by rank; both keep input order last.
  std::vector<size_t> heroes, covers;
  for (size_t i = 0; i < items.size(); ++i) {
    (items[i].kind == Item::Kind::kCutout ? heroes : covers).push_back(i);
  }
  std::stable_sort(heroes.begin(), heroes.end(), [&](size_t a, size_t b) {
    if (items[a].quality != items[b].quality) return items[a].quality > items[b].quality;
    return items[a].rank < items[b].rank;
  });
  std::stable_sort(covers.begin(), covers.end(),
                   [&](size_t a, size_t b) { return items[a].rank < items[b].rank; });

  Rng rng(seed);
  const std::vector<Cell> cells = CellOrder(rng);
  std::vector<Placement> back = Backdrop(items, covers, cells, size, rng);
  std::vector<Cell> empty_corners;
  for (size_t c = covers.size(); c < 4; ++c) empty_corners.push_back(cells[c]);
  std::vector<Placement> front = Heroes(items, heroes, empty_corners, size, rng);

  // Paint order: the backdrop, then the heroes, the main one last.
  int z = 0;
  for (Placement& p : back) {
    p.z = z++;
    out.placements.push_back(p);
  }
  for (auto it = front.rbegin(); it != front.rend(); ++it) {
    it->z = z++;
    out.placements.push_back(*it);
  }
  const Rgb white{255, 255, 255};
  const Rgb mark = Contrast(white, background) >= Contrast(accent, background) ? white : accent;
  out.marks = Marks(out, mark, rng);
  return out;
}

}  // namespace sparkify::layout
