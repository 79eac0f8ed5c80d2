// NarrowConv: see internal/narrow_conv.h.
//
// The inner part computes kTile neighbouring output pixels of a row at once, with one vector
// accumulator per pixel (independent sums keep the FMA units busy) and each weight vector
// loaded once for all of them; it is written for AVX-512 (16-channel blocks) and AVX2
// (8-channel blocks), chosen by what the CPU has, with a plain C++ fallback. Pixels whose
// taps reach into the padding are computed one by one.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

#include "nn/internal/narrow_conv.h"

namespace sparkify::nn::internal {
namespace {

constexpr int kTile = 8;

inline float Activate(float v, Activation act) {
  if (act == Activation::kRelu) return std::max(v, 0.f);
  if (act == Activation::kSigmoid) return 1.f / (1.f + std::exp(-v));
  return v;
}

// One (tap, input block) of an output row: where its input and weights start, relative to
// the input's column of a pixel's first tap (in row 0, block 0) and to the output channel's
// weights. Never negative.
struct Tap {
  ptrdiff_t in;
  ptrdiff_t w;
};

// kTile sums of neighbouring pixels; `in` points at the first pixel's first-tap column (x0 *
// stride - pad_left, row 0, block 0), `step` floats apart from one pixel's to the next.
using TileFn = void (*)(const Tap* taps, size_t count, const float* in, const float* w_oc,
                        size_t step, float* sums);

[[gnu::target("avx2,fma")]] inline float SumLanes(__m256 a) {
  __m128 v = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

[[gnu::target("avx512f,avx2,fma")]] void TileAvx512(const Tap* taps, size_t count, const float* in,
                                                    const float* w_oc, size_t step, float* sums) {
  __m512 acc[kTile];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (size_t i = 0; i < count; ++i) {
    const float* p = in + taps[i].in;
    const __m512 w = _mm512_loadu_ps(w_oc + taps[i].w);
#pragma GCC unroll 8
    for (int t = 0; t < kTile; ++t) {
      acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(p + t * step), w, acc[t]);
    }
  }
  alignas(64) float lanes[16];
  for (int t = 0; t < kTile; ++t) {
    _mm512_store_ps(lanes, acc[t]);
    sums[t] = SumLanes(_mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8)));
  }
}

[[gnu::target("avx2,fma")]] void TileAvx2(const Tap* taps, size_t count, const float* in,
                                          const float* w_oc, size_t step, float* sums) {
  __m256 acc[kTile];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (size_t i = 0; i < count; ++i) {
    const float* p = in + taps[i].in;
    const __m256 w = _mm256_loadu_ps(w_oc + taps[i].w);
#pragma GCC unroll 8
    for (int t = 0; t < kTile; ++t) {
      acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(p + t * step), w, acc[t]);
    }
  }
  for (int t = 0; t < kTile; ++t) sums[t] = SumLanes(acc[t]);
}

template <int B>
void TilePlain(const Tap* taps, size_t count, const float* in, const float* w_oc, size_t step,
               float* sums) {
  std::fill(sums, sums + kTile, 0.f);
  for (size_t i = 0; i < count; ++i) {
    for (int t = 0; t < kTile; ++t) {
      const float* p = in + taps[i].in + t * step;
      const float* q = w_oc + taps[i].w;
      for (int l = 0; l < B; ++l) sums[t] += p[l] * q[l];
    }
  }
}

// One pixel, every tap checked against the borders: for the few pixels at the edges.
float Pixel(const NarrowConvShape& s, const float* in, const float* w_oc, int y, int x) {
  float sum = 0;
  const int b = s.block;
  const size_t plane = static_cast<size_t>(s.in_h) * s.in_w * b;
  for (int ky = 0; ky < s.kernel_h; ++ky) {
    const int iy = y * s.stride_h - s.pad_top + ky * s.dilation_h;
    if (iy < 0 || iy >= s.in_h) continue;
    for (int kx = 0; kx < s.kernel_w; ++kx) {
      const int ix = x * s.stride_w - s.pad_left + kx * s.dilation_w;
      if (ix < 0 || ix >= s.in_w) continue;
      for (int cb = 0; cb < s.in_c / b; ++cb) {
        const float* p = in + cb * plane + (static_cast<size_t>(iy) * s.in_w + ix) * b;
        const float* q = w_oc + ((static_cast<size_t>(cb) * s.kernel_h + ky) * s.kernel_w + kx) * b;
        for (int l = 0; l < b; ++l) sum += p[l] * q[l];
      }
    }
  }
  return sum;
}

TileFn Pick(int block, std::string* name) {
  if (block == 16 && __builtin_cpu_supports("avx512f")) {
    if (name != nullptr) *name = "narrow:avx512";
    return TileAvx512;
  }
  if (block == 8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    if (name != nullptr) *name = "narrow:avx2";
    return TileAvx2;
  }
  if (name != nullptr) *name = "narrow:plain";
  return block == 16 ? TilePlain<16> : TilePlain<8>;
}

// Output rows [y0, y1) of every output channel.
void Rows(TileFn tile, const NarrowConvShape& s, const float* in, const float* weights,
          const float* bias, Activation act, float* out, int y0, int y1) {
  const size_t per_oc = static_cast<size_t>(s.in_c) * s.kernel_h * s.kernel_w;
  // Output columns [x_lo, x_hi) have every tap inside the input's columns.
  const int x_lo = std::min(s.out_w, (s.pad_left + s.stride_w - 1) / s.stride_w);
  const int last_tap = (s.kernel_w - 1) * s.dilation_w - s.pad_left;  // relative to x * stride
  const int x_hi = std::clamp(
      s.in_w - 1 - last_tap < 0 ? 0 : (s.in_w - 1 - last_tap) / s.stride_w + 1, x_lo, s.out_w);
  const int b = s.block;
  const size_t plane = static_cast<size_t>(s.in_h) * s.in_w * b;
  const size_t step = static_cast<size_t>(s.stride_w) * b;
  std::vector<Tap> taps;
  for (int y = y0; y < y1; ++y) {
    // The taps inside the input's rows; relative to the column of a pixel's first tap.
    taps.clear();
    for (int ky = 0; ky < s.kernel_h; ++ky) {
      const int iy = y * s.stride_h - s.pad_top + ky * s.dilation_h;
      if (iy < 0 || iy >= s.in_h) continue;
      for (int kx = 0; kx < s.kernel_w; ++kx) {
        const ptrdiff_t col = ptrdiff_t{kx} * s.dilation_w;
        for (int cb = 0; cb < s.in_c / b; ++cb) {
          taps.push_back({static_cast<ptrdiff_t>(cb * plane) + (ptrdiff_t{iy} * s.in_w + col) * b,
                          ((ptrdiff_t{cb} * s.kernel_h + ky) * s.kernel_w + kx) * b});
        }
      }
    }
    for (int oc = 0; oc < s.out_c; ++oc) {
      const float* w_oc = weights + per_oc * oc;
      const float bias_oc = bias != nullptr ? bias[oc] : 0.f;
      float* row = out + (static_cast<size_t>(oc) * s.out_h + y) * s.out_w;
      auto pixel = [&](int x) { row[x] = Activate(Pixel(s, in, w_oc, y, x) + bias_oc, act); };
      for (int x = 0; x < x_lo; ++x) pixel(x);
      if (x_hi - x_lo >= kTile) {
        // Whole tiles, the last one moved left to end at x_hi (it recomputes a few pixels).
        for (int x = x_lo;; x += kTile) {
          const int x0 = std::min(x, x_hi - kTile);
          float sums[kTile];
          // The column of the tile's first tap: inside the input from x_lo on, so that every
          // pointer the tile forms points into it.
          const float* first = in + (ptrdiff_t{x0} * s.stride_w - s.pad_left) * b;
          tile(taps.data(), taps.size(), first, w_oc, step, sums);
          for (int t = 0; t < kTile; ++t) row[x0 + t] = Activate(sums[t] + bias_oc, act);
          if (x0 + kTile >= x_hi) break;
        }
      } else {
        for (int x = x_lo; x < x_hi; ++x) pixel(x);
      }
      for (int x = x_hi; x < s.out_w; ++x) pixel(x);
    }
  }
}

}  // namespace

bool NarrowConvFits(const NarrowConvShape& s) {
  return (s.block == 8 || s.block == 16) && s.in_c > 0 && s.in_c % s.block == 0 && s.in_h > 0 &&
         s.in_w > 0 && s.out_c > 0 && s.out_h > 0 && s.out_w > 0 && s.kernel_h > 0 &&
         s.kernel_w > 0 && s.stride_h > 0 && s.stride_w > 0 && s.dilation_h > 0 &&
         s.dilation_w > 0 && s.pad_top >= 0 && s.pad_left >= 0;
}

std::string NarrowConvImpl(int block) {
  std::string name;
  Pick(block, &name);
  return name;
}

void NarrowConv(const NarrowConvShape& s, const float* in, const float* weights, const float* bias,
                Activation act, float* out, int threads, bool plain) {
  TileFn tile = plain ? (s.block == 16 ? TilePlain<16> : TilePlain<8>) : Pick(s.block, nullptr);
  // Rows are split between up to `threads` threads when there is enough work; below ~4M
  // multiply-adds one thread is quicker. With OpenMP they are oneDNN's own threads, which
  // spin for a while after each of its steps: threads of our own would compete with them.
  const double macs = double(s.out_c) * s.out_h * s.out_w * s.in_c * s.kernel_h * s.kernel_w;
  const int n = std::clamp(static_cast<int>(macs / 4e6), 1, std::clamp(threads, 1, s.out_h));
  auto part = [&](int t) {
    Rows(tile, s, in, weights, bias, act, out, s.out_h * t / n, s.out_h * (t + 1) / n);
  };
#ifdef _OPENMP
#pragma omp parallel for num_threads(n) schedule(static, 1)
  for (int t = 0; t < n; ++t) part(t);
#else
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(n));
  for (int t = 1; t < n; ++t) {
    try {
      helpers.emplace_back(part, t);
    } catch (const std::system_error&) {
      part(t);  // no thread to be had: this one does that part too
    }
  }
  part(0);
  for (auto& h : helpers) h.join();
#endif
}

}  // namespace sparkify::nn::internal
