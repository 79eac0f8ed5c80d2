#include "collage/color.h"

#include <algorithm>
#include <cmath>

namespace sparkify::collage {
namespace {

// sRGB D65 RGB -> XYZ (Lindbloom).
constexpr double kM[3][3] = {
    {0.4124564, 0.3575761, 0.1804375},
    {0.2126729, 0.7151522, 0.0721750},
    {0.0193339, 0.1191920, 0.9503041},
};
// The white point implied by the matrix: each row's sum.
constexpr double kWhite[3] = {
    kM[0][0] + kM[0][1] + kM[0][2],
    kM[1][0] + kM[1][1] + kM[1][2],
    kM[2][0] + kM[2][1] + kM[2][2],
};

double Linearize(double c255) {
  const double c = std::clamp(c255, 0.0, 255.0) / 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

// CIE's f(t): cube root above (6/29)^3, linear below.
double LabF(double t) {
  constexpr double kDelta = 6.0 / 29.0;
  return t > kDelta * kDelta * kDelta ? std::cbrt(t) : t / (3 * kDelta * kDelta) + 4.0 / 29.0;
}

}  // namespace

Lab RgbToLab(double r, double g, double b) {
  const double lin[3] = {Linearize(r), Linearize(g), Linearize(b)};
  double f[3];
  for (int i = 0; i < 3; ++i) {
    const double xyz = kM[i][0] * lin[0] + kM[i][1] * lin[1] + kM[i][2] * lin[2];
    f[i] = LabF(xyz / kWhite[i]);
  }
  return Lab{116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])};
}

double DeltaE76(const Lab& x, const Lab& y) {
  const double dl = x.l - y.l;
  const double da = x.a - y.a;
  const double db = x.b - y.b;
  return std::sqrt(dl * dl + da * da + db * db);
}

Rgb RoundToRgb(const std::array<double, 3>& components) {
  uint8_t out[3];
  for (int i = 0; i < 3; ++i) {
    const double c = components[static_cast<size_t>(i)];
    out[i] = std::isnan(c) ? 0 : static_cast<uint8_t>(std::clamp(std::round(c), 0.0, 255.0));
  }
  return Rgb{out[0], out[1], out[2]};
}

}  // namespace sparkify::collage
