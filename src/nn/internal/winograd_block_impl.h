// Internal to winograd_conv: the three steps of a block of tiles, written once over an
// instruction set's vector type `I` (I::V, I::kB floats per vector) and the output tile side
// M (8, 6, 4 or 2). Included only by winograd_block_avx512.cpp and winograd_block_avx2.cpp, each
// built for its own instruction set, and by winograd_block_portable.cpp (the tests' stand-in
// for AVX-512); everything here has internal linkage and uses nothing from the standard
// library (see winograd_block.h).
//
// F(4x4, 3x3), points 0, 1, -1, 2, -2 and infinity; F(2x2, 3x3), points 0, 1, -1 and
// infinity (Lavin & Gray):
//   Bt = [4  0 -5  0 1 0]   At = [1 1  1 1  1 0]      Bt = [1  0 -1  0]   At = [1 1  1  0]
//        [0 -4 -4  1 1 0]        [0 1 -1 2 -2 0]           [0  1  1  0]        [0 1 -1 -1]
//        [0  4 -4 -1 1 0]        [0 1  1 4  4 0]           [0 -1  1  0]
//        [0 -2 -1  2 1 0]        [0 1 -1 8 -8 1]           [0  1  0 -1]
//        [0  2 -1 -2 1 0]
//        [0  4  0 -5 0 1]
// F(6x6, 3x3), points 0, 1, -1, 1/2, -1/2, 2, -2 and infinity:
//   Bt = [1  0    -21/4  0     21/4  0    -1 0]   At = [1 1  1  1   1  1     1    0]
//        [0  1     1    -17/4 -17/4  1     1 0]        [0 1 -1  2  -2  1/2  -1/2  0]
//        [0 -1     1     17/4 -17/4 -1     1 0]        [0 1  1  4   4  1/4   1/4  0]
//        [0  1/2   1/4  -5/2  -5/4   2     1 0]        [0 1 -1  8  -8  1/8  -1/8  0]
//        [0 -1/2   1/4   5/2  -5/4  -2     1 0]        [0 1  1 16  16  1/16  1/16 0]
//        [0  2     4    -5/2  -5     1/2   1 0]        [0 1 -1 32 -32  1/32 -1/32 1]
//        [0 -2     4     5/2  -5    -1/2   1 0]
//        [0 -1     0     21/4  0    -21/4  0 1]
// F(8x8, 3x3), points 0, 1, -1, 2, -2, 1/2, -1/2, 3/4, -3/4 and infinity (chosen for the
// least rounding among the sets of that form we simulated): At's columns are the powers of
// the points, and Bt's rows (all exact in fp32; ApplyBt) pair up as e + p o and e - p o.
// G (the weights' side) is applied at load (winograd_conv.cpp), or, for compact layers, here
// chunk by chunk (ConvertRow); Bt and At here, on vectors of I::kB channels.
#pragma once

#include "nn/internal/winograd_block.h"

namespace sparkify::nn::internal {
namespace {

using Offset = long;

// y = Bt x for the M + 2 vectors of a tile's row or column.
template <class I, int M>
inline void ApplyBt(const typename I::V* x, int xs, typename I::V* y, int ys) {
  using V = typename I::V;
  if constexpr (M == 8) {
    V d[10];
    for (int i = 0; i < 10; ++i) d[i] = x[i * xs];
    // Point 0 and infinity: the even and the odd taps of one polynomial.
    const V k0 = I::Set1(9.f / 16), k2 = I::Set1(-253.f / 64), k4 = I::Set1(525.f / 64),
            k6 = I::Set1(-93.f / 16);
    y[0] = I::FMadd(k0, d[0], I::FMadd(k2, d[2], I::FMadd(k4, d[4], I::FMadd(k6, d[6], d[8]))));
    y[9 * ys] =
        I::FMadd(k0, d[1], I::FMadd(k2, d[3], I::FMadd(k4, d[5], I::FMadd(k6, d[7], d[9]))));
    // Points p and -p (rows 2k - 1 and 2k): e +- p o, with the same coefficients on the even
    // taps (e) and the odd ones (o). (The sum and difference as a product and two additions,
    // for the adders beside a Zen 4's FMA units: no faster, sparkify_bench_winograd.)
    auto pair = [&](int row, float p, float c2, float c4, float c6) {
      const V a = I::Set1(c2), b = I::Set1(c4), c = I::Set1(c6);
      const V e = I::FMadd(a, d[2], I::FMadd(b, d[4], I::FMadd(c, d[6], d[8])));
      const V o = I::FMadd(a, d[1], I::FMadd(b, d[3], I::FMadd(c, d[5], d[7])));
      y[row * ys] = I::FMadd(I::Set1(p), o, e);
      y[(row + 1) * ys] = I::FnMadd(I::Set1(p), o, e);
    };
    pair(1, 1.f, -9.f / 16, 217.f / 64, -77.f / 16);
    pair(3, 2.f, -9.f / 64, 61.f / 64, -29.f / 16);
    pair(5, .5f, -9.f / 4, 109.f / 16, -89.f / 16);
    pair(7, .75f, -1.f, 21.f / 4, -21.f / 4);
  } else if constexpr (M == 6) {
    const V x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs];
    const V x5 = x[5 * xs], x6 = x[6 * xs], x7 = x[7 * xs];
    const V k525 = I::Set1(5.25f), k425 = I::Set1(4.25f);
    y[0] = I::FMadd(k525, I::Sub(x4, x2), I::Sub(x0, x6));
    y[7 * ys] = I::FMadd(k525, I::Sub(x3, x5), I::Sub(x7, x1));
    V a = I::FnMadd(k425, x4, I::Add(x2, x6));  // x2 + x6 - 4.25 x4
    V b = I::FnMadd(k425, x3, I::Add(x1, x5));  // x1 + x5 - 4.25 x3
    y[ys] = I::Add(a, b);
    y[2 * ys] = I::Sub(a, b);
    // x6 + x2 / 4 - 1.25 x4, and x1 / 2 - 2.5 x3 + 2 x5
    a = I::FnMadd(I::Set1(1.25f), x4, I::FMadd(I::Set1(.25f), x2, x6));
    b = I::FnMadd(I::Set1(2.5f), x3, I::FMadd(I::Set1(.5f), x1, I::Add(x5, x5)));
    y[3 * ys] = I::Add(a, b);
    y[4 * ys] = I::Sub(a, b);
    // x6 + 4 x2 - 5 x4, and 2 x1 - 2.5 x3 + x5 / 2
    a = I::FnMadd(I::Set1(5.f), x4, I::FMadd(I::Set1(4.f), x2, x6));
    b = I::FnMadd(I::Set1(2.5f), x3, I::FMadd(I::Set1(.5f), x5, I::Add(x1, x1)));
    y[5 * ys] = I::Add(a, b);
    y[6 * ys] = I::Sub(a, b);
  } else if constexpr (M == 4) {
    const V four = I::Set1(4.f), five = I::Set1(5.f), two = I::Set1(2.f);
    const V x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    const V a = I::FnMadd(four, x2, x4);  // x4 - 4 x2
    const V b = I::FnMadd(four, x1, x3);  // x3 - 4 x1
    const V c = I::Sub(x4, x2);
    const V d = I::Sub(x3, x1);
    y[0] = I::FnMadd(five, x2, I::FMadd(four, x0, x4));
    y[ys] = I::Add(a, b);
    y[2 * ys] = I::Sub(a, b);
    y[3 * ys] = I::FMadd(two, d, c);
    y[4 * ys] = I::FnMadd(two, d, c);
    y[5 * ys] = I::FnMadd(five, x3, I::FMadd(four, x1, x5));
  } else {
    const V x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    y[0] = I::Sub(x0, x2);
    y[ys] = I::Add(x1, x2);
    y[2 * ys] = I::Sub(x2, x1);
    y[3 * ys] = I::Sub(x1, x3);
  }
}

// y = At x: M vectors from M + 2.
template <class I, int M>
inline void ApplyAt(const typename I::V* x, int xs, typename I::V* y, int ys) {
  using V = typename I::V;
  if constexpr (M == 8) {
    // The sums (a) and differences (s) of each pair of points p and -p: row i takes p^i
    // times a (i even) or s (i odd). Every power is exact in fp32.
    V a[4], s[4];
    for (int k = 0; k < 4; ++k) {
      a[k] = I::Add(x[(2 * k + 1) * xs], x[(2 * k + 2) * xs]);
      s[k] = I::Sub(x[(2 * k + 1) * xs], x[(2 * k + 2) * xs]);
    }
    y[0] = I::Add(I::Add(x[0], I::Add(a[0], a[1])), I::Add(a[2], a[3]));
    float p2 = 1.f, ph = 1.f, pq = 1.f;  // 2^i, (1/2)^i, (3/4)^i
    for (int i = 1; i < 8; ++i) {
      p2 *= 2.f, ph *= .5f, pq *= .75f;
      const V* u = i % 2 == 0 ? a : s;
      y[i * ys] = I::FMadd(I::Set1(pq), u[3],
                           I::FMadd(I::Set1(ph), u[2], I::FMadd(I::Set1(p2), u[1], u[0])));
    }
    y[7 * ys] = I::Add(y[7 * ys], x[9 * xs]);
  } else if constexpr (M == 6) {
    const V a1 = I::Add(x[xs], x[2 * xs]), s1 = I::Sub(x[xs], x[2 * xs]);
    const V a2 = I::Add(x[3 * xs], x[4 * xs]), s2 = I::Sub(x[3 * xs], x[4 * xs]);
    const V a3 = I::Add(x[5 * xs], x[6 * xs]), s3 = I::Sub(x[5 * xs], x[6 * xs]);
    y[0] = I::Add(I::Add(x[0], a1), I::Add(a2, a3));
    y[ys] = I::FMadd(I::Set1(.5f), s3, I::FMadd(I::Set1(2.f), s2, s1));
    y[2 * ys] = I::FMadd(I::Set1(.25f), a3, I::FMadd(I::Set1(4.f), a2, a1));
    y[3 * ys] = I::FMadd(I::Set1(.125f), s3, I::FMadd(I::Set1(8.f), s2, s1));
    y[4 * ys] = I::FMadd(I::Set1(.0625f), a3, I::FMadd(I::Set1(16.f), a2, a1));
    y[5 * ys] = I::Add(I::FMadd(I::Set1(.03125f), s3, I::FMadd(I::Set1(32.f), s2, s1)), x[7 * xs]);
  } else if constexpr (M == 4) {
    const V a = I::Add(x[xs], x[2 * xs]), b = I::Sub(x[xs], x[2 * xs]);
    const V c = I::Add(x[3 * xs], x[4 * xs]), d = I::Sub(x[3 * xs], x[4 * xs]);
    y[0] = I::Add(I::Add(x[0], a), c);
    y[ys] = I::FMadd(I::Set1(2.f), d, b);
    y[2 * ys] = I::FMadd(I::Set1(4.f), c, a);
    y[3 * ys] = I::Add(I::FMadd(I::Set1(8.f), d, b), x[5 * xs]);
  } else {
    y[0] = I::Add(I::Add(x[0], x[xs]), x[2 * xs]);
    y[ys] = I::Sub(I::Sub(x[xs], x[2 * xs]), x[3 * xs]);
  }
}

// Where channel c of row t lies at one point of V or M: in chunks of `chunk` channels of
// `channels`, each chunk's rows side by side (WinogradBlock::v).
inline Offset ChunkedAt(int c, int t, int chunk, int channels, int rows) {
  const int c0 = c / chunk * chunk;
  const int n = channels - c0 < chunk ? channels - c0 : chunk;
  return Offset{c0} * rows + Offset{t} * n + (c - c0);
}

// Asks for `rows` runs of `bytes` bytes, the first at `p` and each `stride` floats after the
// one before, to be brought into the cache ahead of their use (`write`: to be written).
// The transforms go block by block of channels, and a block's part of a row of tiles is a
// few short streams that the hardware's prefetcher starts on too late: each tile of a block
// read or written as it lies asks for its pixels in the next such block, which the loop
// reaches a block's tiles later (not the upsampled blocks: their maps are a quarter the size).
template <bool write>
inline void PrefetchRows(const float* p, Offset stride, int rows, Offset bytes) {
  for (int r = 0; r < rows; ++r) {
    const char* from = reinterpret_cast<const char*>(p + r * stride);
    for (Offset o = 0; o < bytes; o += 64) __builtin_prefetch(from + o, write, 3);
    __builtin_prefetch(from + bytes - 1, write, 3);
  }
}

// Where pixel x of a side upsampled by 2 (n pixels before) reads the map before: between
// its pixels a and b, at x / 2 - 1/4 (half-pixel centres), clamped at the edges; `inside`
// false in the padding.
// (No default member initializers: arrays of them are filled per tile, not zeroed first.)
struct UpTap {
  int a, b;
  float wa, wb;
  bool inside;
};

inline UpTap UpsampleTap(int x, int n) {
  if (x < 0 || x >= 2 * n) return UpTap{0, 0, 0.f, 0.f, false};
  const int k = x / 2;
  if (x % 2 == 1) return UpTap{k, k + 1 < n ? k + 1 : n - 1, .75f, .25f, true};
  return UpTap{k > 0 ? k - 1 : 0, k, .25f, .75f, true};
}

// Bt down each column of the tile at (y, x) (padding included) of a block upsampled by 2
// from `low` (WinogradConvShape::up_c), into u[.][c]: the tile's rows of `low` interpolated
// across first, then each column's pixels between them as it is transformed.
template <class I, int M>
inline void UpsampledColumns(const WinogradConvShape& s, const float* low, int y, int x,
                             typename I::V (&u)[M + 2][M + 2]) {
  using V = typename I::V;
  constexpr int kB = I::kB, kT = M + 2, kLowRows = kT / 2 + 2;
  const int low_h = s.in_h / 2, low_w = s.in_w / 2;
  UpTap rt[kT], ct[kT];
  for (int k = 0; k < kT; ++k) rt[k] = UpsampleTap(y + k, low_h), ct[k] = UpsampleTap(x + k, low_w);
  int first = low_h;  // the rows of `low` the tile reads: [first, first + kLowRows) at most
  for (int k = 0; k < kT; ++k) {
    if (rt[k].inside && rt[k].a < first) first = rt[k].a;
  }
  V h[kLowRows][kT];  // row first + j of `low` interpolated at the tile's columns (zero in
                      // the padding: weights 0)
  for (int c = 0; c < kT; ++c) {
    const V wa = I::Set1(ct[c].wa), wb = I::Set1(ct[c].wb);
    const float* a = low + Offset{ct[c].a} * kB;
    const float* b = low + Offset{ct[c].b} * kB;
    for (int j = 0; j < kLowRows && first + j < low_h; ++j) {
      const Offset row = Offset{first + j} * low_w * kB;
      h[j][c] = I::FMadd(wb, I::Load(b + row), I::Mul(wa, I::Load(a + row)));
    }
  }
  V ra[kT], rb[kT];
  for (int r = 0; r < kT; ++r) ra[r] = I::Set1(rt[r].wa), rb[r] = I::Set1(rt[r].wb);
  for (int c = 0; c < kT; ++c) {
    V d[kT];
    for (int r = 0; r < kT; ++r) {
      d[r] = rt[r].inside
                 ? I::FMadd(rb[r], h[rt[r].b - first][c], I::Mul(ra[r], h[rt[r].a - first][c]))
                 : I::Zero();
    }
    ApplyBt<I, M>(d, 1, &u[0][c], kT);
  }
}

// V = Bt d B for every tile and input block; rows past `count` are zeros.
template <class I, int M>
void InputTransform(const WinogradBlock& b) {
  using V = typename I::V;
  constexpr int kB = I::kB, kT = M + 2;
  const WinogradConvShape& s = *b.s;
  const Offset plane = Offset{s.in_h} * s.in_w * kB;
  const Offset point = b.v_point;
  const int dil = s.dilation;
  // Input block by input block, tile by tile: a block's rows are then read as a few
  // sequential streams the hardware prefetches (tile by tile over all the blocks, the
  // streams were (M + 2) x blocks, and the layer ran ~20% slower).
  const int up_blocks = s.up_c / kB;
  const Offset up_plane = Offset{s.in_h / 2} * (s.in_w / 2) * kB;
  for (int cb = 0; cb < s.in_c / kB; ++cb) {
    for (int t = 0; t < b.count; ++t) {
      const int y0 = b.tiles[2 * t] - s.pad_top, x0 = b.tiles[2 * t + 1] - s.pad_left;
      if (cb < up_blocks) {
        float* dst = b.v + ChunkedAt(cb * kB, t, b.v_chunk, s.in_c, b.rows);
        V u[kT][kT];
        UpsampledColumns<I, M>(s, b.up + cb * up_plane, y0, x0, u);
        for (int r = 0; r < kT; ++r) {
          V w[kT];
          ApplyBt<I, M>(u[r], 1, w, 1);
          for (int c = 0; c < kT; ++c) I::Store(dst + (r * kT + c) * point, w[c]);
        }
        continue;
      }
      const float* src = b.in + (cb - up_blocks) * plane;
      Offset row[kT], col[kT];  // offsets in a block's plane; -1 in the padding
      for (int k = 0; k < kT; ++k) {
        const int iy = y0 + k * dil, ix = x0 + k * dil;
        row[k] = iy >= 0 && iy < s.in_h ? Offset{iy} * s.in_w * kB : -1;
        col[k] = ix >= 0 && ix < s.in_w ? Offset{ix} * kB : -1;
      }
      float* dst = b.v + ChunkedAt(cb * kB, t, b.v_chunk, s.in_c, b.rows);
      if (dil == 1 && cb + 1 < s.in_c / kB) {          // (dilated tiles are not runs of pixels)
        int r0 = 0, r1 = kT - 1, c0 = 0, c1 = kT - 1;  // the tile's pixels inside the map
        while (r0 < r1 && row[r0] < 0) ++r0;
        while (r1 > r0 && row[r1] < 0) --r1;
        while (c0 < c1 && col[c0] < 0) ++c0;
        while (c1 > c0 && col[c1] < 0) --c1;
        if (row[r0] >= 0 && col[c0] >= 0) {
          PrefetchRows<false>(src + plane + row[r0] + col[c0], Offset{s.in_w} * kB, r1 - r0 + 1,
                              Offset{c1 - c0 + 1} * kB * 4);
        }
      }
      V u[kT][kT];
      bool inside = true;
      for (int k = 0; k < kT; ++k) inside = inside && row[k] >= 0 && col[k] >= 0;
      // Column by column: its kT pixels, then Bt down the column.
      for (int c = 0; c < kT; ++c) {
        V d[kT];
        if (inside) {
          for (int r = 0; r < kT; ++r) d[r] = I::Load(src + row[r] + col[c]);
        } else {
          for (int r = 0; r < kT; ++r) {
            d[r] = row[r] >= 0 && col[c] >= 0 ? I::Load(src + row[r] + col[c]) : I::Zero();
          }
        }
        ApplyBt<I, M>(d, 1, &u[0][c], kT);
      }
      for (int r = 0; r < kT; ++r) {
        V w[kT];
        ApplyBt<I, M>(u[r], 1, w, 1);  // rows
        for (int c = 0; c < kT; ++c) I::Store(dst + (r * kT + c) * point, w[c]);
      }
    }
  }
  for (int p = 0; p < kT * kT; ++p) {
    for (int t = b.count; t < b.rows; ++t) {
      float* dst = b.v + p * point;
      for (int c = 0; c < s.in_c; c += kB) {
        I::Store(dst + ChunkedAt(c, t, b.v_chunk, s.in_c, b.rows), I::Zero());
      }
    }
  }
}

// kWinogradRows rows of M (one point) for one group of NV output vectors, over n input
// channels: m[r][j] (+)= sum over ci < n of v[r][ci] * u[ci][j], the rows of v v_row floats
// apart, those of m m_row. `accumulate`: onto what m holds (the sums of the chunks before),
// else from zero.
template <class I, int NV>
inline void Product(const float* v, Offset v_row, int n, const float* u, float* m, Offset m_row,
                    bool accumulate) {
  using V = typename I::V;
  constexpr int kB = I::kB, kR = kWinogradRows;
  V acc[kR][NV];
  for (int r = 0; r < kR; ++r) {
    for (int j = 0; j < NV; ++j) {
      acc[r][j] = accumulate ? I::Load(m + r * m_row + j * kB) : I::Zero();
    }
  }
  for (int ci = 0; ci < n; ++ci) {
    V w[NV];
    for (int j = 0; j < NV; ++j) w[j] = I::Load(u + Offset{ci} * NV * kB + j * kB);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const V a = I::Set1(v[Offset{r} * v_row + ci]);
      for (int j = 0; j < NV; ++j) acc[r][j] = I::FMadd(a, w[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kR; ++r) {
    for (int j = 0; j < NV; ++j) I::Store(m + r * m_row + j * kB, acc[r][j]);
  }
}

template <class I, int NV>
void Products(const WinogradBlock& b, int points) {
  const WinogradConvShape& s = *b.s;
  const Offset v_point = b.v_point, m_point = b.m_point;
  const Offset u_point = Offset{s.in_c} * s.out_c;
  const Offset u_group = Offset{s.in_c} * b.width;
  const Offset m_row = Offset{b.g1 - b.g0} * b.width;  // the block's channels
  for (int p = 0; p < points; ++p) {
    const float* v = b.v + p * v_point;
    float* m = b.m + p * m_point;
    const float* u = b.u + p * u_point;
    for (int g = b.g0; g < b.g1; ++g) {
      for (int r = 0; r < b.rows; r += kWinogradRows) {
        Product<I, NV>(v + Offset{r} * s.in_c, s.in_c, s.in_c, u + g * u_group,
                       m + Offset{r} * m_row + (g - b.g0) * b.width, m_row, false);
      }
    }
  }
}

// Row `a` of U = G g Gt (the M + 2 points (a, 0) .. (a, M + 1)) for n input channels of one
// weight group: from the compact weights (fp16, blocked by 8 output channels: [out_c / 8]
// [in_c][9][8], `block` halves from one block to the next; `halves` at the group's first block
// and first channel) to [M + 2 points][n][width], `point` floats apart. A row at a time, so that
// what the products read next stays in L2. The operations and their order are WinogradConvWeights'
// (kWinogradG2, G4, G6 and G8), so for finite weights the bits are the same. F(2x2)'s products by
// 1/2 are exact, and those by 0 and 1 are left out (which can only change the sign of a zero in U,
// never M).
template <class I, int NV, int M>
void ConvertRow(const unsigned short* halves, Offset block, int n, int a, float* row,
                Offset point) {
  using V = typename I::V;
  constexpr int kB = I::kB, kWidth = NV * kB, kT = M + 2;
  const V h = I::Set1(.5f), nh = I::Set1(-.5f);
  V G[kT][3];
  if constexpr (M == 4 || M == 6 || M == 8) {
    const float(*g)[3] = M == 4 ? kWinogradG4 : M == 6 ? kWinogradG6 : kWinogradG8;
    for (int r = 0; r < kT; ++r) {
      for (int k = 0; k < 3; ++k) G[r][k] = I::Set1(g[r][k]);
    }
  }
  for (int ci = 0; ci < n; ++ci) {
    for (int j = 0; j < NV; ++j) {
      const unsigned short* src = halves + j * (kB / 8) * block + Offset{ci} * 9 * 8;
      V g[9];
      for (int t = 0; t < 9; ++t) g[t] = I::LoadHalves(src + t * 8, block);
      V x[3];  // row a of G g, per column of the kernel
      for (int c = 0; c < 3; ++c) {
        if constexpr (M == 2) {
          x[c] = a == 0   ? g[c]
                 : a == 3 ? g[6 + c]
                          : I::Add(I::Add(I::Mul(h, g[c]), I::Mul(a == 1 ? h : nh, g[3 + c])),
                                   I::Mul(h, g[6 + c]));
        } else {
          x[c] = I::Add(I::Add(I::Mul(G[a][0], g[c]), I::Mul(G[a][1], g[3 + c])),
                        I::Mul(G[a][2], g[6 + c]));
        }
      }
      float* dst = row + Offset{ci} * kWidth + j * kB;
      if constexpr (M == 2) {
        I::Store(dst, x[0]);
        I::Store(dst + point, I::Add(I::Add(I::Mul(h, x[0]), I::Mul(h, x[1])), I::Mul(h, x[2])));
        I::Store(dst + 2 * point,
                 I::Add(I::Add(I::Mul(h, x[0]), I::Mul(nh, x[1])), I::Mul(h, x[2])));
        I::Store(dst + 3 * point, x[2]);
      } else {
        for (int c = 0; c < kT; ++c) {
          I::Store(dst + c * point, I::Add(I::Add(I::Mul(x[0], G[c][0]), I::Mul(x[1], G[c][1])),
                                           I::Mul(x[2], G[c][2])));
        }
      }
    }
  }
}

// The products of a compact layer (any tile): weight group by group, chunk by chunk
// of v_chunk input channels, row by row of the transform's points, the row's U converted
// into the thread's buffer and used by every row of tiles of the block, its sums added onto
// M. V comes in chunks of the same channels, M in chunks of one group: each product reads
// and writes contiguous rows.
template <class I, int NV, int M>
void CompactProducts(const WinogradBlock& b) {
  const WinogradConvShape& s = *b.s;
  constexpr int kT = M + 2;
  const Offset width = b.width;
  for (int g = b.g0; g < b.g1; ++g) {
    for (int c0 = 0; c0 < s.in_c; c0 += b.v_chunk) {
      const int n = s.in_c - c0 < b.v_chunk ? s.in_c - c0 : b.v_chunk;
      const Offset block = Offset{s.in_c} * 9 * 8;
      const unsigned short* halves = b.halves + g * (width / 8) * block + Offset{c0} * 9 * 8;
      for (int a = 0; a < kT; ++a) {
        ConvertRow<I, NV, M>(halves, block, n, a, b.chunk, b.chunk_point);
        for (int c = 0; c < kT; ++c) {
          const int p = a * kT + c;
          const float* v = b.v + p * b.v_point + Offset{c0} * b.rows;
          float* m = b.m + p * b.m_point + (g - b.g0) * width * b.rows;
          const float* u = b.chunk + c * b.chunk_point;
          for (int r = 0; r < b.rows; r += kWinogradRows) {
            Product<I, NV>(v + Offset{r} * n, n, n, u, m + r * width, width, c0 > 0);
          }
        }
      }
    }
  }
}

// Y = At M A for every tile and output block, then bias, ReLU and residual; pixels past the
// map's edge are not written.
template <class I, int M>
void OutputTransform(const WinogradBlock& b) {
  using V = typename I::V;
  constexpr int kB = I::kB, kT = M + 2;
  const WinogradConvShape& s = *b.s;
  const Offset plane = Offset{s.out_h} * s.out_w * kB;
  const Offset point = b.m_point;
  const int dil = s.dilation;
  // In locals: the stores below could write over the block's fields, as far as the compiler
  // knows, which it would then read again for every pixel.
  float* const out = b.out;
  const float* const residual = b.residual;
  const bool relu = b.relu;
  // Block by block of the block's channels, as the input.
  const int cb0 = b.g0 * b.width / kB, cb1 = b.g1 * b.width / kB;
  const int m_channels = (b.g1 - b.g0) * b.width;
  for (int cb = cb0; cb < cb1; ++cb) {
    const V bias = b.bias != nullptr ? I::Load(b.bias + cb * kB) : I::Zero();
    const Offset base = cb * plane;
    for (int t = 0; t < b.count; ++t) {
      const int y0 = b.tiles[2 * t], x0 = b.tiles[2 * t + 1];
      int rows = 0, cols = 0;  // of the tile inside the map
      while (rows < M && y0 + rows * dil < s.out_h) ++rows;
      while (cols < M && x0 + cols * dil < s.out_w) ++cols;
      const float* src = b.m + ChunkedAt((cb - cb0) * kB, t, b.m_chunk, m_channels, b.rows);
      if (dil == 1 && cb + 1 < cb1) {  // what the tile writes and adds in the next
        const Offset at = base + plane + (Offset{y0} * s.out_w + x0) * kB;
        const Offset row = Offset{s.out_w} * kB, bytes = Offset{cols} * kB * 4;
        PrefetchRows<true>(out + at, row, rows, bytes);
        if (residual != nullptr) PrefetchRows<false>(residual + at, row, rows, bytes);
      }
      V o[M][kT], y[M][M];
      for (int c = 0; c < kT; ++c) {  // At down each column of M, as it is loaded
        V m[kT];
        for (int r = 0; r < kT; ++r) m[r] = I::Load(src + (r * kT + c) * point);
        ApplyAt<I, M>(m, 1, &o[0][c], kT);
      }
      for (int r = 0; r < M; ++r) ApplyAt<I, M>(o[r], 1, y[r], 1);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          const Offset at = base + (Offset{y0 + r * dil} * s.out_w + x0 + c * dil) * kB;
          V val = I::Add(y[r][c], bias);
          if (relu) val = I::Max(val, I::Zero());
          if (residual != nullptr) val = I::Add(val, I::Load(residual + at));
          I::Store(out + at, val);
          y[r][c] = val;
        }
      }
      if (b.pooled != nullptr) {  // dilation 1: the tile holds its windows whole
        float* pooled = b.pooled + cb * (Offset{s.pool_h} * s.pool_w * kB);
        for (int r = 0; r < rows && (y0 + r) / 2 < s.pool_h; r += 2) {
          for (int c = 0; c < cols && (x0 + c) / 2 < s.pool_w; c += 2) {
            V top = c + 1 < cols ? I::Max(y[r][c], y[r][c + 1]) : y[r][c];
            if (r + 1 < rows) {
              top = I::Max(top, c + 1 < cols ? I::Max(y[r + 1][c], y[r + 1][c + 1]) : y[r + 1][c]);
            }
            I::Store(pooled + (Offset{(y0 + r) / 2} * s.pool_w + (x0 + c) / 2) * kB, top);
          }
        }
      }
    }
  }
}

template <class I, int M>
void RunTile(const WinogradBlock& b) {
  InputTransform<I, M>(b);
  constexpr int kPoints = (M + 2) * (M + 2);
  // winograd_conv.cpp's Width() gives 1, 2 or 4 vectors (4 only on AVX-512).
  const int vectors = b.width / I::kB;
  if (b.halves != nullptr) {
    if (vectors == 4) {
      CompactProducts<I, 4, M>(b);
    } else if (vectors == 2) {
      CompactProducts<I, 2, M>(b);
    } else {
      CompactProducts<I, 1, M>(b);
    }
    OutputTransform<I, M>(b);
    return;
  }
  switch (vectors) {
    case 4:
      Products<I, 4>(b, kPoints);
      break;
    case 2:
      Products<I, 2>(b, kPoints);
      break;
    default:
      Products<I, 1>(b, kPoints);
      break;
  }
  OutputTransform<I, M>(b);
}

template <class I>
void RunBlock(const WinogradBlock& b) {
  if (b.s->tile == 2) {
    RunTile<I, 2>(b);
  } else if (b.s->tile == 6) {
    RunTile<I, 6>(b);
  } else if (b.s->tile == 8) {
    RunTile<I, 8>(b);
  } else {
    RunTile<I, 4>(b);
  }
}

}  // namespace
}  // namespace sparkify::nn::internal
