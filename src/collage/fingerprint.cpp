#include "collage/fingerprint.h"

#include <bit>
#include <cstdlib>

namespace sparkify::collage {

namespace {
constexpr double kFlat = 2.0;  // grey levels
}  // namespace

Result<Fingerprint> FingerprintOf(const Image& image) {
  SPARKIFY_RETURN_IF_ERROR(ValidateImage(image));
  constexpr int kCols = 9, kRows = 8;
  double grey[kRows][kCols] = {};
  double weight[kRows][kCols] = {};
  double sum[3] = {0, 0, 0}, total = 0;
  const int ch = Channels(image.format);
  for (int y = 0; y < image.height; ++y) {
    const int cy = y * kRows / image.height;
    for (int x = 0; x < image.width; ++x) {
      const int cx = x * kCols / image.width;
      const uint8_t* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * ch];
      const double a = ch == 4 ? p[3] / 255.0 : 1.0;
      grey[cy][cx] += a * (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
      weight[cy][cx] += a;
      for (int k = 0; k < 3; ++k) sum[k] += a * p[k];
      total += a;
    }
  }
  Fingerprint f;
  int bit = 0;
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c + 1 < kCols; ++c, ++bit) {
      const double left = weight[r][c] > 0 ? grey[r][c] / weight[r][c] : 0;
      const double right = weight[r][c + 1] > 0 ? grey[r][c + 1] / weight[r][c + 1] : 0;
      // Flat regions compare equal: noise (a JPEG's, say) must not decide their bits.
      if (right > left + kFlat) f.hash |= uint64_t{1} << bit;
    }
  }
  for (int k = 0; k < 3; ++k) {
    f.mean[k] = static_cast<uint8_t>(total > 0 ? sum[k] / total + 0.5 : 0);
  }
  return f;
}

bool NearDuplicates(const Fingerprint& a, const Fingerprint& b) {
  if (std::popcount(a.hash ^ b.hash) > kMaxHashDistance) return false;
  for (int k = 0; k < 3; ++k) {
    if (std::abs(int{a.mean[k]} - int{b.mean[k]}) > kMaxMeanDifference) return false;
  }
  return true;
}

}  // namespace sparkify::collage
