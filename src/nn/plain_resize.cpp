// PlainResize: see internal/plain_resize.h.
#include "nn/internal/plain_resize.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sparkify::nn::internal {
namespace {

// Where output index `o` reads from along a side of `in` pixels scaled by the integer
// `scale`: half-pixel centres put it at (o + 0.5) / scale - 0.5 = (2 o + 1 - scale) / (2
// scale), between pixels `lo` and `hi` with weight `w` on `hi` (from small integers: the
// weight is exact, or correctly rounded where 2 scale is not a power of two).
struct Source {
  int lo, hi;
  float w;
};

Source SourceOf(int o, int scale, int in) {
  const int num = 2 * o + 1 - scale, den = 2 * scale;
  // floor(num / den) for negative num too
  const int q = num >= 0 ? num / den : -((-num + den - 1) / den);
  const float w = static_cast<float>(num - q * den) / static_cast<float>(den);
  return {std::clamp(q, 0, in - 1), std::clamp(q + 1, 0, in - 1), w};
}

}  // namespace

bool PlainResizeFits(const PlainResizeShape& s) {
  return s.c > 0 && s.in_h > 0 && s.in_w > 0 && s.out_h > 0 && s.out_w > 0 &&
         s.out_h % s.in_h == 0 && s.out_w % s.in_w == 0;
}

void PlainResize(const PlainResizeShape& s, const float* in, float* out, int threads) {
  const int sy = s.out_h / s.in_h, sx = s.out_w / s.in_w;
  std::vector<Source> cols(static_cast<size_t>(s.out_w));
  for (int x = 0; x < s.out_w; ++x) cols[static_cast<size_t>(x)] = SourceOf(x, sx, s.in_w);
  const size_t in_plane = static_cast<size_t>(s.in_h) * s.in_w;
  const size_t out_plane = static_cast<size_t>(s.out_h) * s.out_w;
  const int jobs = s.c * s.out_h;  // output rows
  // Rows across: an input row interpolated along x into `into` (out_w floats).
  auto across = [&](const float* row, float* into) {
    for (int x = 0; x < s.out_w; ++x) {
      const Source& c = cols[static_cast<size_t>(x)];
      into[x] = row[c.lo] + c.w * (row[c.hi] - row[c.lo]);
    }
  };
  // Output rows [first, last): consecutive rows share their input rows, which are
  // interpolated across once per run.
  auto part = [&](int first, int last) {
    std::vector<float> a(static_cast<size_t>(s.out_w)), b(a.size());
    int a_row = -1, b_row = -1, a_plane = -1, b_plane = -1;
    for (int job = first; job < last; ++job) {
      const int ch = job / s.out_h, y = job % s.out_h;
      const Source r = SourceOf(y, sy, s.in_h);
      const float* plane = in + static_cast<size_t>(ch) * in_plane;
      if (a_row != r.lo || a_plane != ch) {
        if (b_row == r.lo && b_plane == ch) {
          std::swap(a, b);
          std::swap(a_row, b_row);
          std::swap(a_plane, b_plane);
        } else {
          across(plane + static_cast<size_t>(r.lo) * s.in_w, a.data());
          a_row = r.lo, a_plane = ch;
        }
      }
      if (b_row != r.hi || b_plane != ch) {
        across(plane + static_cast<size_t>(r.hi) * s.in_w, b.data());
        b_row = r.hi, b_plane = ch;
      }
      float* o = out + static_cast<size_t>(ch) * out_plane + static_cast<size_t>(y) * s.out_w;
      const float w = r.w;
      for (int x = 0; x < s.out_w; ++x) o[x] = a[x] + w * (b[x] - a[x]);
    }
  };
  const int n = std::clamp(threads, 1, std::max(jobs / 64, 1));  // >= 64 rows each
#ifdef _OPENMP
#pragma omp parallel num_threads(n)
  {
    const int t = omp_get_thread_num(), k = omp_get_num_threads();
    part(static_cast<int>(long{jobs} * t / k), static_cast<int>(long{jobs} * (t + 1) / k));
  }
#else
  (void)n;
  part(0, jobs);
#endif
}

}  // namespace sparkify::nn::internal
