// Colours for the collage library: 8-bit sRGB triples, their CIELAB coordinates and the
// CIE76 colour difference used to compare palettes.
//
// Choices, so that scores are reproducible:
//  - sRGB is decoded with the IEC 61966-2-1 transfer function and converted to XYZ with the
//    D65 matrix as Bruce Lindbloom publishes it (0.4124564 0.3575761 0.1804375 / ...).
//  - The reference white is that matrix applied to RGB (1,1,1) (X 0.9504700, Y 1.0000001,
//    Z 1.0884300), so sRGB white is exactly L=100, a=b=0 and every grey has a=b=0.
//    (Using the rounded D65 white Z=1.08883 instead would tint white by b=0.02.)
//  - Distance is CIE76: the Euclidean distance in L*a*b*. It is what the original app used
//    and what its thresholds (35 for "near the complementary colour") were tuned for.
//
// Thread-safe: pure functions of their arguments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sparkify::collage {

// An 8-bit sRGB colour.
struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;

  // R+G+B, 0..765: what "too dark" and "too light" are measured on.
  int Sum() const { return int{r} + int{g} + int{b}; }
  // A component by index (0 red, 1 green, 2 blue), for code that loops over the three.
  uint8_t operator[](size_t i) const { return i == 0 ? r : i == 1 ? g : b; }
  uint8_t& operator[](size_t i) { return i == 0 ? r : i == 1 ? g : b; }
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// A colour in CIELAB (D65): l in [0,100], a and b roughly in [-128,128].
struct Lab {
  double l = 0;
  double a = 0;
  double b = 0;
};

// sRGB components in [0,255] (not necessarily integers, e.g. a cluster centre) to CIELAB.
// Components outside [0,255] are clamped.
Lab RgbToLab(double r, double g, double b);
inline Lab RgbToLab(Rgb c) { return RgbToLab(c.r, c.g, c.b); }

// CIE76 colour difference: Euclidean distance in L*a*b*.
double DeltaE76(const Lab& x, const Lab& y);

// 255 - c per channel.
inline Rgb Complementary(Rgb c) {
  return Rgb{static_cast<uint8_t>(255 - c.r), static_cast<uint8_t>(255 - c.g),
             static_cast<uint8_t>(255 - c.b)};
}

// Rounds each component to the nearest integer (halves away from zero) and clamps it to
// [0,255]; a NaN component becomes 0.
Rgb RoundToRgb(const std::array<double, 3>& components);

}  // namespace sparkify::collage
