// Internal to winograd_conv: the three steps of a block of tiles, written once over an
// instruction set's vector type `I` (I::V, I::kB floats per vector). Included only by
// winograd_block_avx512.cpp and winograd_block_avx2.cpp, each built for its own instruction
// set; everything here has internal linkage, so neither build's code can stand in for the
// other's at link time.
//
// F(4x4, 3x3) with the points 0, 1, -1, 2, -2 and infinity (Lavin & Gray):
//   Bt = [4  0 -5  0 1 0]   G = [ 1/4     0     0 ]   At = [1 1  1 1  1 0]
//        [0 -4 -4  1 1 0]       [-1/6  -1/6  -1/6 ]        [0 1 -1 2 -2 0]
//        [0  4 -4 -1 1 0]       [-1/6   1/6  -1/6 ]        [0 1  1 4  4 0]
//        [0 -2 -1  2 1 0]       [1/24  1/12   1/6 ]        [0 1 -1 8 -8 1]
//        [0  2 -1 -2 1 0]       [1/24 -1/12   1/6 ]
//        [0  4  0 -5 0 1]       [ 0      0     1  ]
// G is applied at load (winograd_conv.cpp); Bt and At here, on vectors of I::kB channels.
#pragma once

#include <cstddef>

#include "nn/internal/winograd_block.h"

namespace sparkify::nn::internal {
namespace {

constexpr int kPoints = 36;  // 6 x 6

// y = Bt x for six vectors.
template <class I>
inline void ApplyBt(const typename I::V* x, size_t xs, typename I::V* y, size_t ys) {
  using V = typename I::V;
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
}

// y = At x: four vectors from six.
template <class I>
inline void ApplyAt(const typename I::V* x, size_t xs, typename I::V* y, size_t ys) {
  using V = typename I::V;
  const V a = I::Add(x[xs], x[2 * xs]), b = I::Sub(x[xs], x[2 * xs]);
  const V c = I::Add(x[3 * xs], x[4 * xs]), d = I::Sub(x[3 * xs], x[4 * xs]);
  y[0] = I::Add(I::Add(x[0], a), c);
  y[ys] = I::FMadd(I::Set1(2.f), d, b);
  y[2 * ys] = I::FMadd(I::Set1(4.f), c, a);
  y[3 * ys] = I::Add(I::FMadd(I::Set1(8.f), d, b), x[5 * xs]);
}

// V = Bt d B for every tile and input block; rows past `count` are zeros.
template <class I>
void InputTransform(const WinogradBlock& b) {
  using V = typename I::V;
  constexpr int kB = I::kB;
  const WinogradConvShape& s = *b.s;
  const size_t plane = static_cast<size_t>(s.in_h) * s.in_w * kB;
  const size_t point = static_cast<size_t>(b.rows) * s.in_c;  // floats from one point to the next
  const int dil = s.dilation;
  // Input block by input block, tile by tile: a block's rows are then read as a few
  // sequential streams the hardware prefetches (tile by tile over every block was ~48).
  for (int cb = 0; cb < s.in_c / kB; ++cb) {
    const float* src = b.in + cb * plane;
    for (int t = 0; t < b.count; ++t) {
      const int y0 = b.tiles[2 * t] - s.pad_top, x0 = b.tiles[2 * t + 1] - s.pad_left;
      ptrdiff_t row[6], col[6];  // offsets in a block's plane; -1 in the padding
      for (int k = 0; k < 6; ++k) {
        const int iy = y0 + k * dil, ix = x0 + k * dil;
        row[k] = iy >= 0 && iy < s.in_h ? ptrdiff_t{iy} * s.in_w * kB : -1;
        col[k] = ix >= 0 && ix < s.in_w ? ptrdiff_t{ix} * kB : -1;
      }
      float* dst = b.v + static_cast<size_t>(t) * s.in_c + cb * kB;
      V d[6][6], u[6][6];
      for (int r = 0; r < 6; ++r) {
        for (int c = 0; c < 6; ++c) {
          d[r][c] = row[r] >= 0 && col[c] >= 0 ? I::Load(src + row[r] + col[c]) : I::Zero();
        }
      }
      for (int c = 0; c < 6; ++c) ApplyBt<I>(&d[0][c], 6, &u[0][c], 6);  // down the columns
      for (int r = 0; r < 6; ++r) {
        V w[6];
        ApplyBt<I>(u[r], 1, w, 1);  // along the rows
        for (int c = 0; c < 6; ++c) I::Store(dst + (r * 6 + c) * point, w[c]);
      }
    }
  }
  for (int p = 0; p < kPoints; ++p) {
    for (int t = b.count; t < b.rows; ++t) {
      float* dst = b.v + p * point + static_cast<size_t>(t) * s.in_c;
      for (int c = 0; c < s.in_c; c += kB) I::Store(dst + c, I::Zero());
    }
  }
}

// kWinogradRows rows of M (one point) for one group of NV output vectors:
// m[r][j] = sum over ci of v[r][ci] * u[ci][j].
template <class I, int NV>
inline void Product(const float* v, int in_c, const float* u, float* m, int out_c) {
  using V = typename I::V;
  constexpr int kB = I::kB, kR = kWinogradRows;
  V acc[kR][NV];
  for (auto& r : acc) {
    for (auto& a : r) a = I::Zero();
  }
  for (int ci = 0; ci < in_c; ++ci) {
    V w[NV];
    for (int j = 0; j < NV; ++j) w[j] = I::Load(u + static_cast<size_t>(ci) * NV * kB + j * kB);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const V a = I::Set1(v[static_cast<size_t>(r) * in_c + ci]);
      for (int j = 0; j < NV; ++j) acc[r][j] = I::FMadd(a, w[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kR; ++r) {
    for (int j = 0; j < NV; ++j) I::Store(m + static_cast<size_t>(r) * out_c + j * kB, acc[r][j]);
  }
}

template <class I, int NV>
void Products(const WinogradBlock& b) {
  const WinogradConvShape& s = *b.s;
  const size_t v_point = static_cast<size_t>(b.rows) * s.in_c;
  const size_t m_point = static_cast<size_t>(b.rows) * s.out_c;
  const size_t u_point = static_cast<size_t>(s.in_c) * s.out_c;
  const size_t u_group = static_cast<size_t>(s.in_c) * b.width;
  for (int p = 0; p < kPoints; ++p) {
    const float* v = b.v + p * v_point;
    float* m = b.m + p * m_point;
    const float* u = b.u + p * u_point;
    for (int g = 0; g < s.out_c / b.width; ++g) {
      for (int r = 0; r < b.rows; r += kWinogradRows) {
        Product<I, NV>(v + static_cast<size_t>(r) * s.in_c, s.in_c, u + g * u_group,
                       m + static_cast<size_t>(r) * s.out_c + g * b.width, s.out_c);
      }
    }
  }
}

// Y = At M A for every tile and output block, then bias, activation and residual; pixels
// past the map's edge are not written.
template <class I>
void OutputTransform(const WinogradBlock& b) {
  using V = typename I::V;
  constexpr int kB = I::kB;
  const WinogradConvShape& s = *b.s;
  const size_t plane = static_cast<size_t>(s.out_h) * s.out_w * kB;
  const size_t point = static_cast<size_t>(b.rows) * s.out_c;
  const int dil = s.dilation;
  const bool relu = b.act == Activation::kRelu;
  for (int cb = 0; cb < s.out_c / kB; ++cb) {  // block by block, as the input
    const V bias = b.bias != nullptr ? I::Load(b.bias + cb * kB) : I::Zero();
    const size_t base = cb * plane;
    for (int t = 0; t < b.count; ++t) {
      const int y0 = b.tiles[2 * t], x0 = b.tiles[2 * t + 1];
      int rows = 0, cols = 0;  // of the tile inside the map
      while (rows < 4 && y0 + rows * dil < s.out_h) ++rows;
      while (cols < 4 && x0 + cols * dil < s.out_w) ++cols;
      const float* src = b.m + static_cast<size_t>(t) * s.out_c + cb * kB;
      V m[6][6], o[4][6], y[4][4];
      for (int p = 0; p < kPoints; ++p) m[p / 6][p % 6] = I::Load(src + p * point);
      for (int c = 0; c < 6; ++c) ApplyAt<I>(&m[0][c], 6, &o[0][c], 6);
      for (int r = 0; r < 4; ++r) ApplyAt<I>(o[r], 1, y[r], 1);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          const size_t at =
              base + (static_cast<size_t>(y0 + r * dil) * s.out_w + x0 + c * dil) * kB;
          V val = I::Add(y[r][c], bias);
          if (relu) val = I::Max(val, I::Zero());
          if (b.residual != nullptr) val = I::Add(val, I::Load(b.residual + at));
          I::Store(b.out + at, val);
        }
      }
    }
  }
}

template <class I>
void RunBlock(const WinogradBlock& b) {
  InputTransform<I>(b);
  switch (b.width / I::kB) {
    case 4:
      Products<I, 4>(b);
      break;
    case 2:
      Products<I, 2>(b);
      break;
    default:
      Products<I, 1>(b);
      break;
  }
  OutputTransform<I>(b);
}

}  // namespace
}  // namespace sparkify::nn::internal
