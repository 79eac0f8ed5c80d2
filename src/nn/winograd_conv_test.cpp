#include "nn/internal/winograd_conv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace sparkify::nn::internal {
namespace {

// The 16-channel (AVX-512) shapes below run on every machine: where the CPU has no AVX-512,
// on the portable emulation of its block (the same layout and rounding), so that CI on an
// AVX2 machine checks them too.
const bool kEmulatingAvx512 = (EmulateAvx512BlocksForTests(true), true);

size_t Blocked(const WinogradConvShape& s, int c, int y, int x, int h, int w) {
  return ((static_cast<size_t>(c / s.block) * h + y) * w + x) * s.block + c % s.block;
}

struct Case {
  int tile, block, in_c, out_c, in_h, in_w, dilation, pad_top, pad_left;
  Activation act;
  enum Residual { kNoResidual, kResidual, kInPlace } residual;
  bool bias;
  int threads;
  enum Pool { kNoPool, kPoolCeil, kPoolFloor } pool = kNoPool;  // the fused 2x2 max pool
  int up_c = 0;  // the first channels upsampled by 2 from a half-size map (a fused Resize)
  bool split = false;  // the plan splits the channels between the threads (checked)
};

// ONNX's linear Resize by 2 with half-pixel centres, in double: pixel x of the result lies at
// x / 2 - 1/4 of the map before, clamped to its edges.
double Upsampled(const std::vector<float>& low, const WinogradConvShape& s, int c, int y, int x) {
  const int h = s.in_h / 2, w = s.in_w / 2;
  auto taps = [](int at, int n, int* a, int* b, double* wb) {
    const double f = std::max(at / 2.0 - 0.25, 0.0);
    *a = std::min(static_cast<int>(f), n - 1);
    *b = std::min(*a + 1, n - 1);
    *wb = f - *a;
  };
  int y0, y1, x0, x1;
  double wy, wx;
  taps(y, h, &y0, &y1, &wy);
  taps(x, w, &x0, &x1, &wx);
  auto at = [&](int yy, int xx) { return double(low[Blocked(s, c, yy, xx, h, w)]); };
  return (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
}

// The convolution the obvious way, in double, with each output's sum of |terms| (the scale
// of its rounding error).
void Reference(const WinogradConvShape& s, const std::vector<float>& in,
               const std::vector<float>& w, const float* bias, std::vector<double>* out,
               std::vector<double>* scale) {
  out->assign(static_cast<size_t>(s.out_c) * s.out_h * s.out_w, 0);
  scale->assign(out->size(), 0);
  for (int o = 0; o < s.out_c; ++o) {
    for (int y = 0; y < s.out_h; ++y) {
      for (int x = 0; x < s.out_w; ++x) {
        double sum = bias != nullptr ? bias[o] : 0, mag = std::fabs(sum);
        for (int i = 0; i < s.in_c; ++i) {
          for (int ky = 0; ky < 3; ++ky) {
            const int iy = y - s.pad_top + ky * s.dilation;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int ix = x - s.pad_left + kx * s.dilation;
              if (ix < 0 || ix >= s.in_w) continue;
              const double t = double(in[Blocked(s, i, iy, ix, s.in_h, s.in_w)]) *
                               w[(static_cast<size_t>(o) * s.in_c + i) * 9 + ky * 3 + kx];
              sum += t;
              mag += std::fabs(t);
            }
          }
        }
        const size_t at = Blocked(s, o, y, x, s.out_h, s.out_w);
        (*out)[at] = sum;
        (*scale)[at] = mag;
      }
    }
  }
}

void Check(const Case& c) {
  WinogradConvShape s;
  s.block = c.block;
  s.in_c = c.in_c, s.in_h = c.in_h, s.in_w = c.in_w;
  s.out_c = c.out_c;
  s.dilation = c.dilation;
  s.tile = c.tile;
  s.pad_top = c.pad_top, s.pad_left = c.pad_left;
  // The same padding at the other end.
  s.out_h = c.in_h + 2 * c.pad_top - 2 * c.dilation;
  s.out_w = c.in_w + 2 * c.pad_left - 2 * c.dilation;
  if (c.pool != Case::kNoPool) {
    const int up = c.pool == Case::kPoolCeil ? 1 : 0;
    s.pool_h = (s.out_h + up) / 2, s.pool_w = (s.out_w + up) / 2;
  }
  if (!WinogradConvFits(s)) GTEST_SKIP() << "no kernel for block " << c.block << " on this CPU";
  std::mt19937 rng(static_cast<uint32_t>(c.in_c * 131 + c.in_h * 7 + c.dilation));
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> in(static_cast<size_t>(s.in_c) * s.in_h * s.in_w);
  std::vector<float> w(static_cast<size_t>(s.out_c) * s.in_c * 9), bias(s.out_c);
  const size_t outs = static_cast<size_t>(s.out_c) * s.out_h * s.out_w;
  std::vector<float> residual(outs);
  for (auto* v : {&in, &w, &bias, &residual}) {
    for (float& x : *v) x = u(rng);
  }
  // A fused Resize: the kernel reads the first up_c channels from `low` and the others from
  // `rest`; the reference reads them all from `in`, upsampled there in double.
  std::vector<float> low, rest;
  if (c.up_c > 0) {
    s.up_c = c.up_c;
    ASSERT_TRUE(WinogradConvFits(s));
    low.resize(static_cast<size_t>(s.up_c) * (s.in_h / 2) * (s.in_w / 2));
    for (float& x : low) x = u(rng);
    for (int ch = 0; ch < s.up_c; ++ch) {
      for (int y = 0; y < s.in_h; ++y) {
        for (int x = 0; x < s.in_w; ++x) {
          in[Blocked(s, ch, y, x, s.in_h, s.in_w)] =
              static_cast<float>(Upsampled(low, s, ch, y, x));
        }
      }
    }
    rest.assign(in.begin() + static_cast<long>(s.up_c) * s.in_h * s.in_w, in.end());
  }
  std::vector<double> want, scale;
  Reference(s, in, w, c.bias ? bias.data() : nullptr, &want, &scale);

  std::vector<float> uw(WinogradConvWeightFloats(s));
  WinogradConvWeights(s, w.data(), uw.data());
  const WinogradConvPlan plan = PlanWinogradConv(s, c.threads);
  if (c.split) {
    EXPECT_EQ(plan.parts, c.threads);
  }
  std::unique_ptr<void, decltype(&std::free)> scratch(
      std::aligned_alloc(64, (plan.scratch_bytes + 63) / 64 * 64), &std::free);
  std::vector<float> out(outs, std::nanf(""));
  const float* res = nullptr;
  if (c.residual == Case::kResidual) res = residual.data();
  if (c.residual == Case::kInPlace) {
    out = residual;
    res = out.data();
  }
  const size_t pools = static_cast<size_t>(s.out_c) * s.pool_h * s.pool_w;
  std::vector<float> pooled(pools + 64, std::nanf(""));  // 64 past the end stay untouched
  WinogradConv(plan, c.up_c > 0 ? rest.data() : in.data(), uw.data(),
               c.bias ? bias.data() : nullptr, c.act, res, out.data(), scratch.get(),
               pools > 0 ? pooled.data() : nullptr, c.up_c > 0 ? low.data() : nullptr);
  double worst = 0;
  // The pool of what the layer wrote, window by window (ceil mode: a last window may be
  // smaller): exactly the same floats.
  for (int o = 0; o < s.out_c; ++o) {
    for (int py = 0; py < s.pool_h; ++py) {
      for (int px = 0; px < s.pool_w; ++px) {
        float m = -INFINITY;
        for (int y = 2 * py; y < std::min(2 * py + 2, s.out_h); ++y) {
          for (int x = 2 * px; x < std::min(2 * px + 2, s.out_w); ++x) {
            m = std::max(m, out[Blocked(s, o, y, x, s.out_h, s.out_w)]);
          }
        }
        ASSERT_EQ(pooled[Blocked(s, o, py, px, s.pool_h, s.pool_w)], m)
            << "pooled channel " << o << " at " << py << "," << px;
      }
    }
  }
  for (size_t i = pools; i < pooled.size(); ++i) ASSERT_TRUE(std::isnan(pooled[i])) << i;
  for (size_t i = 0; i < outs; ++i) {
    double expect = want[i];
    if (c.act == Activation::kRelu) expect = std::max(expect, 0.0);
    if (c.residual != Case::kNoResidual) expect += residual[i];
    ASSERT_FALSE(std::isnan(out[i])) << "output " << i << " not written";
    const double err = std::fabs(out[i] - expect) / (scale[i] + 1);
    worst = std::max(worst, err);
  }
  // F(4x4, 3x3) and F(6x6, 3x3) in fp32 (worst here: 4.2e-6 and 3.6e-6 on 2026-12-06): the
  // transforms scale values by up to ~100 before they cancel, so tens of units in the last
  // place of the terms' magnitude (direct fp32: a few). F(8x8) scales them by thousands
  // (worst here: 6.3e-5 on 2026-12-07): the fast mode's, under the quality gate.
  EXPECT_LT(worst, c.tile == 8 ? 2e-4 : 1e-5)
      << WinogradConvImpl(s) << " in " << s.in_c << "x" << s.in_h << "x" << s.in_w << " out "
      << s.out_c << " dilation " << s.dilation << " pad " << c.pad_top << "," << c.pad_left;
}

class WinogradConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(WinogradConvTest, MatchesTheDirectConvolution) { Check(GetParam()); }

constexpr auto kRelu = Activation::kRelu;
constexpr auto kNone = Activation::kNone;

INSTANTIATE_TEST_SUITE_P(
    Shapes, WinogradConvTest,
    ::testing::Values(
        // F(4x4): weight groups of 4, 2 and 1 vectors; maps whose sides are not multiples of
        // the tile, or smaller than one; dilated as in RSU4F (pad = dilation); padding
        // different on each axis, and none.
        Case{4, 16, 64, 64, 20, 24, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{4, 16, 32, 32, 13, 9, 1, 1, 1, kRelu, Case::kResidual, true, 1},
        Case{4, 16, 48, 16, 7, 11, 1, 1, 1, kNone, Case::kInPlace, false, 2},
        Case{4, 16, 16, 48, 3, 2, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{4, 16, 32, 64, 17, 19, 2, 2, 2, kRelu, Case::kInPlace, true, 2},
        Case{4, 16, 16, 32, 16, 16, 4, 4, 4, kRelu, Case::kNoResidual, true, 2},
        Case{4, 16, 16, 16, 9, 12, 8, 8, 8, kNone, Case::kResidual, true, 1},
        Case{4, 16, 128, 64, 24, 24, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{4, 16, 32, 32, 12, 14, 1, 0, 2, kRelu, Case::kNoResidual, true, 2},
        // Many blocks per thread (each reuses its V and M), and three threads.
        Case{4, 16, 32, 32, 60, 52, 1, 1, 1, kRelu, Case::kInPlace, true, 1},
        Case{4, 16, 32, 32, 60, 52, 1, 1, 1, kRelu, Case::kResidual, true, 3},
        // F(2x2).
        Case{2, 16, 64, 64, 21, 18, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{2, 16, 32, 16, 5, 7, 2, 2, 2, kNone, Case::kInPlace, true, 2},
        Case{2, 16, 48, 32, 40, 44, 1, 2, 0, kRelu, Case::kResidual, false, 3},
        // F(6x6): sides not multiples of 6, smaller than a tile, dilated; many blocks.
        Case{6, 16, 64, 64, 20, 26, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{6, 16, 32, 16, 5, 7, 1, 1, 1, kNone, Case::kInPlace, true, 2},
        Case{6, 16, 32, 32, 17, 19, 2, 2, 2, kRelu, Case::kResidual, true, 1},
        Case{6, 16, 128, 64, 24, 24, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{6, 16, 32, 32, 60, 52, 1, 1, 1, kRelu, Case::kResidual, false, 3},
        Case{6, 16, 32, 32, 16, 22, 4, 4, 4, kRelu, Case::kNoResidual, true, 2},
        Case{6, 16, 32, 16, 14, 20, 1, 0, 2, kRelu, Case::kNoResidual, true, 2},
        // The max pool after the layer, fused (odd and even sides, ceil and floor, one tile).
        Case{6, 16, 32, 32, 20, 26, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kPoolCeil},
        Case{6, 16, 32, 16, 17, 21, 1, 1, 1, kRelu, Case::kInPlace, true, 3, Case::kPoolCeil},
        Case{4, 16, 32, 32, 15, 13, 1, 1, 1, kNone, Case::kResidual, true, 2, Case::kPoolFloor},
        Case{2, 16, 32, 32, 9, 12, 1, 1, 1, kRelu, Case::kNoResidual, false, 1, Case::kPoolCeil},
        Case{4, 16, 16, 16, 3, 3, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kPoolFloor},
        Case{4, 8, 16, 16, 19, 17, 1, 1, 1, kRelu, Case::kInPlace, true, 2, Case::kPoolCeil},
        Case{6, 8, 16, 8, 14, 11, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kPoolFloor},
        // AVX2: groups of 2 and 1 vectors of 8.
        Case{4, 8, 64, 64, 20, 24, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{4, 8, 24, 8, 13, 9, 1, 1, 1, kRelu, Case::kResidual, true, 1},
        Case{4, 8, 16, 24, 17, 19, 2, 2, 2, kNone, Case::kInPlace, false, 2},
        Case{4, 8, 8, 16, 9, 12, 4, 4, 4, kRelu, Case::kNoResidual, true, 2},
        Case{4, 8, 16, 16, 60, 52, 1, 1, 1, kRelu, Case::kInPlace, true, 1},
        Case{2, 8, 32, 16, 21, 18, 1, 1, 1, kRelu, Case::kResidual, true, 2},
        Case{2, 8, 8, 8, 9, 9, 4, 4, 4, kRelu, Case::kNoResidual, true, 2},
        Case{6, 8, 16, 24, 33, 31, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{6, 8, 8, 8, 13, 15, 2, 2, 2, kNone, Case::kInPlace, false, 1},
        // Channels split between the threads (weights that outweigh the tiles: see
        // DeepLayersOnSmallMapsSplitTheChannels): in two, in three uneven parts, on AVX2, with
        // the pool.
        Case{4, 16, 64, 128, 8, 8, 1, 1, 1, kRelu, Case::kResidual, true, 2, Case::kNoPool, 0,
             true},
        Case{4, 16, 32, 256, 7, 9, 1, 1, 1, kRelu, Case::kNoResidual, true, 3, Case::kPoolCeil, 0,
             true},
        Case{4, 8, 16, 64, 8, 8, 1, 1, 1, kRelu, Case::kInPlace, true, 2, Case::kNoPool, 0, true},
        Case{2, 16, 32, 192, 6, 10, 2, 2, 2, kNone, Case::kNoResidual, false, 3, Case::kNoPool, 0,
             true},
        // F(8x8): sides not multiples of 8, smaller than a tile, dilated, padding on one axis
        // only; three threads; the pool; both instruction sets; the channels split.
        Case{8, 16, 64, 64, 20, 26, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{8, 16, 32, 16, 5, 7, 1, 1, 1, kNone, Case::kInPlace, true, 2},
        Case{8, 16, 32, 32, 19, 21, 2, 2, 2, kRelu, Case::kResidual, true, 1},
        Case{8, 16, 128, 64, 24, 24, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{8, 16, 32, 32, 70, 62, 1, 1, 1, kRelu, Case::kResidual, false, 3},
        Case{8, 16, 32, 16, 14, 20, 1, 0, 2, kRelu, Case::kNoResidual, true, 2},
        Case{8, 16, 32, 32, 21, 26, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kPoolCeil},
        Case{8, 8, 16, 24, 33, 31, 1, 1, 1, kRelu, Case::kNoResidual, true, 2},
        Case{8, 8, 8, 8, 13, 15, 4, 4, 4, kNone, Case::kInPlace, false, 1},
        Case{8, 8, 16, 8, 18, 13, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kPoolFloor},
        Case{8, 16, 32, 128, 16, 16, 1, 1, 1, kRelu, Case::kResidual, true, 2, Case::kNoPool, 0,
             true},
        // A Resize by 2 and a Concat before the layer, fused: the first channels upsampled
        // from a half-size map (its edges clamped), in every tile and on both instruction sets;
        // with a pool and a residual; padding on one axis only, and of 2 (the most rows of the
        // half-size map a tile reads: an even first row inside the map).
        Case{6, 16, 64, 32, 20, 26, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 32},
        Case{8, 16, 64, 32, 20, 26, 1, 1, 1, kRelu, Case::kResidual, true, 2, Case::kPoolCeil, 32},
        Case{8, 8, 16, 16, 18, 12, 1, 0, 2, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 8},
        Case{4, 16, 48, 32, 14, 10, 1, 1, 1, kRelu, Case::kResidual, true, 3, Case::kPoolCeil, 16},
        Case{2, 16, 32, 16, 8, 6, 1, 1, 1, kNone, Case::kInPlace, false, 1, Case::kNoPool, 16},
        Case{6, 8, 32, 16, 34, 30, 1, 1, 1, kRelu, Case::kInPlace, true, 2, Case::kPoolFloor, 16},
        Case{4, 8, 24, 16, 16, 18, 1, 1, 1, kRelu, Case::kNoResidual, true, 1, Case::kNoPool, 8},
        Case{2, 8, 16, 8, 2, 4, 1, 1, 1, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 8},
        Case{6, 8, 16, 16, 12, 12, 1, 0, 2, kRelu, Case::kResidual, true, 2, Case::kNoPool, 8},
        Case{4, 8, 16, 16, 14, 10, 1, 2, 0, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 8},
        Case{2, 8, 24, 8, 10, 12, 1, 0, 2, kNone, Case::kResidual, true, 1, Case::kNoPool, 16},
        Case{4, 16, 32, 16, 12, 16, 1, 0, 2, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 16},
        Case{2, 16, 32, 16, 10, 8, 1, 2, 2, kRelu, Case::kNoResidual, true, 2, Case::kNoPool, 16}));

// A 3x3 layer padded by 1 (the output the input's size).
WinogradConvShape SamePadded(int block, int in_c, int out_c, int h, int w) {
  WinogradConvShape s;
  s.block = block;
  s.in_c = in_c, s.in_h = h, s.in_w = w;
  s.out_c = out_c, s.out_h = h, s.out_w = w;
  s.pad_top = s.pad_left = 1;
  return s;
}

// Blocks: even, as many per thread, each within `rows` (a multiple of the product's rows),
// and the scratch the threads' V and M need.
TEST(WinogradConvPlanTest, CutsTheTilesIntoEvenBlocks) {
  struct Shape {
    int tile, in_c, out_c, side, threads;
  };
  for (const Shape& c :
       {Shape{4, 128, 128, 128, 2}, Shape{4, 128, 64, 512, 2}, Shape{2, 1024, 512, 32, 2},
        Shape{2, 512, 256, 32, 3}, Shape{4, 16, 16, 4, 8}, Shape{4, 64, 64, 50, 1}}) {
    WinogradConvShape s = SamePadded(16, c.in_c, c.out_c, c.side, c.side);
    s.tile = c.tile;
    const WinogradConvPlan p = PlanWinogradConv(s, c.threads);
    const int tiles = static_cast<int>(p.tiles.size() / 2);
    const int per_side = (c.side + c.tile - 1) / c.tile;
    EXPECT_EQ(tiles, per_side * per_side);
    ASSERT_GT(p.blocks, 0);
    ASSERT_GT(p.parts, 0);
    const int units = p.blocks * p.parts;
    EXPECT_LE(p.threads, std::min(c.threads, units));
    EXPECT_EQ(units % p.threads, 0) << "units " << units << " threads " << p.threads;
    EXPECT_EQ(p.rows % 6, 0);
    for (int k = 0; k < p.blocks; ++k) {
      const int size = (k + 1) * tiles / p.blocks - k * tiles / p.blocks;
      EXPECT_GE(size, 1);
      EXPECT_LE(size, p.rows);
    }
    // V for the block's tiles, M for the widest part's channels.
    const int groups = s.out_c / p.width;
    const size_t part = static_cast<size_t>((groups + p.parts - 1) / p.parts * p.width);
    const size_t points = static_cast<size_t>(c.tile + 2) * (c.tile + 2);
    EXPECT_GE(p.scratch_bytes, points * p.rows * (s.in_c + part) * sizeof(float) * p.threads);
  }
}

// Where each thread would take one block and the weights outweigh all the tiles' V, the
// threads share the tiles and split the output channels: IS-Net's 32x32 maps at 1024 (64
// F(4x4) tiles, 512 -> 512 channels, compact); not where the tiles outweigh the weights, nor
// where the threads' copies of V would pass 32 MB, nor on one thread, nor with the option off.
TEST(WinogradConvPlanTest, DeepLayersOnSmallMapsSplitTheChannels) {
  auto shape = [](int tile, int in_c, int out_c, int side, bool compact) {
    WinogradConvShape s = SamePadded(16, in_c, out_c, side, side);
    s.tile = tile, s.compact = compact;
    return s;
  };
  const WinogradConvShape stage5 = shape(4, 512, 512, 32, true);
  WinogradConvPlan p = PlanWinogradConv(stage5, 2);
  EXPECT_EQ(p.blocks, 1);
  EXPECT_EQ(p.parts, 2);
  EXPECT_EQ(p.threads, 2);
  EXPECT_EQ(p.rows, 66);  // 64 tiles once, not 32 twice (36 rows each)
  WinogradBlocking off;
  off.split_channels = false;
  p = PlanWinogradConv(stage5, 2, off);
  EXPECT_EQ(p.parts, 1);
  EXPECT_EQ(p.blocks, 2);
  EXPECT_EQ(p.parts, PlanWinogradConv(stage5, 1).parts);
  EXPECT_EQ(PlanWinogradConv(shape(2, 512, 256, 32, false), 3).parts, 1);  // 256 tiles: not more
  // Each thread holds all the tiles' V: 4.9 MB here, so on 4 threads, not on 8 (past 32 MB);
  // 256 F(2x2) tiles of 1024 channels are 17 MB a thread.
  EXPECT_EQ(PlanWinogradConv(stage5, 4).parts, 4);
  EXPECT_EQ(PlanWinogradConv(stage5, 8).parts, 1);
  EXPECT_EQ(PlanWinogradConv(shape(2, 1024, 512, 32, false), 2).parts, 1);
  EXPECT_EQ(PlanWinogradConv(shape(4, 64, 64, 64, false), 2).parts, 1);
  // 4 weight groups of 64 on 3 threads: three parts (of 1, 1 and 2 groups; WinogradConvTest's
  // split cases check such layers against the reference).
  p = PlanWinogradConv(shape(4, 32, 256, 8, false), 3);
  EXPECT_EQ(p.parts, 3);
  EXPECT_EQ(p.width, 64);
}

TEST(BlockSharesTest, OwnShareFrontToBackThenTheOthersFromTheBack) {
  BlockShares shares(10, 2);  // thread 0: 0-4, thread 1: 5-9
  EXPECT_EQ(shares.Next(1), 5);
  EXPECT_EQ(shares.Next(1), 6);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(shares.Next(0), k);
  EXPECT_EQ(shares.Next(0), 9);  // thread 1's last two, from the back
  EXPECT_EQ(shares.Next(0), 8);
  EXPECT_EQ(shares.Next(1), 7);
  EXPECT_EQ(shares.Next(1), -1);
  EXPECT_EQ(shares.Next(0), -1);
}

TEST(BlockSharesTest, UnevenSharesAndThreadsThatNeverCome) {
  BlockShares shares(7, 3);  // 0-1, 2-3, 4-6; threads 1 and 2 never ask
  std::vector<int> got;
  for (int k = shares.Next(0); k >= 0; k = shares.Next(0)) got.push_back(k);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 3, 2, 6, 5, 4}));
  BlockShares none(0, 2);
  EXPECT_EQ(none.Next(0), -1);
  EXPECT_EQ(none.Next(1), -1);
  BlockShares more_threads(2, 4);  // threads 0 and 2 own nothing: they take from the others
  EXPECT_EQ(more_threads.Next(0), 0);
  EXPECT_EQ(more_threads.Next(0), 1);
  EXPECT_EQ(more_threads.Next(2), -1);
}

// Threads racing for the blocks: each handed out exactly once.
TEST(BlockSharesTest, EveryBlockOnceUnderContention) {
  for (int threads : {2, 3, 8}) {
    for (int blocks : {1, 5, 64, 10000}) {
      BlockShares shares(blocks, threads);
      std::vector<std::vector<int>> got(static_cast<size_t>(threads));
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          for (int k = shares.Next(t); k >= 0; k = shares.Next(t)) got[t].push_back(k);
        });
      }
      for (auto& th : pool) th.join();
      std::vector<int> seen(static_cast<size_t>(blocks), 0);
      for (const auto& g : got) {
        for (int k : g) {
          ASSERT_GE(k, 0);
          ASSERT_LT(k, blocks);
          ++seen[static_cast<size_t>(k)];
        }
      }
      for (int k = 0; k < blocks; ++k) {
        EXPECT_EQ(seen[static_cast<size_t>(k)], 1)
            << "block " << k << " of " << blocks << ", " << threads << " threads";
      }
    }
  }
}

// A compact layer (fp16 3x3 weights, converted chunk by chunk as the block goes) gives the
// very floats the layer with converted fp32 weights gives: the same operations on the same
// values in the same order. F(2x2), F(4x4) and F(6x6), in chunks of 512 channels (384 for
// F(6x6) on AVX-512); one chunk,
// several, a narrower last one; weight groups of 4, 2 and 1 vectors; one and many blocks;
// the residual, in place, the pool, dilation.
struct CompactCase {
  int tile, block, in_c, out_c, side_h, side_w, dilation;
  Case::Residual residual;
  Case::Pool pool;
  int threads;
  int up_c = 0;  // the first channels upsampled from a half-size map
  bool split = false;  // the plan splits the channels between the threads (checked)
};

// fp16 bits to their value (normal and subnormal; no infinities or NaNs made here).
float HalfValue(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const float v = e == 0 ? std::ldexp(float(m), -24) : std::ldexp(float(m + 1024), e - 25);
  return (h & 0x8000) != 0 ? -v : v;
}

class WinogradCompactTest : public ::testing::TestWithParam<CompactCase> {};

TEST_P(WinogradCompactTest, GivesTheSameFloatsAsConvertedWeights) {
  const CompactCase& c = GetParam();
  WinogradConvShape s;
  s.block = c.block;
  s.tile = c.tile;
  s.in_c = c.in_c, s.in_h = c.side_h, s.in_w = c.side_w;
  s.out_c = c.out_c, s.out_h = c.side_h, s.out_w = c.side_w;
  s.dilation = c.dilation;
  s.pad_top = s.pad_left = c.dilation;
  if (c.pool != Case::kNoPool) {
    const int up = c.pool == Case::kPoolCeil ? 1 : 0;
    s.pool_h = (s.out_h + up) / 2, s.pool_w = (s.out_w + up) / 2;
  }
  s.up_c = c.up_c;
  WinogradConvShape compact = s;
  compact.compact = true;
  if (!WinogradConvFits(s)) GTEST_SKIP() << "no kernel for block " << c.block << " on this CPU";
  ASSERT_TRUE(WinogradConvFits(compact)) << "a CPU with AVX2 or AVX-512 has F16C";
  const std::string impl = "wino" + std::to_string(c.tile) + "x3c:";
  EXPECT_EQ(WinogradConvImpl(compact).rfind(impl, 0), 0u) << WinogradConvImpl(compact);

  std::mt19937 rng(static_cast<uint32_t>(c.in_c * 7 + c.out_c + c.side_h));
  // Weights as a file holds them: fp16, normal (magnitudes 2^-14 .. 2) and some subnormal
  // and zero.
  std::vector<uint16_t> halves(static_cast<size_t>(s.out_c) * s.in_c * 9);
  for (uint16_t& h : halves) {
    const uint32_t r = rng();
    const uint32_t exp = r % 64 == 0 ? 0 : 1 + (r >> 8) % 15;
    h = static_cast<uint16_t>((r >> 20 & 1) << 15 | exp << 10 | (r >> 21) % 1024);
  }
  std::vector<float> w(halves.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = HalfValue(halves[i]);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> in(static_cast<size_t>(s.in_c) * s.in_h * s.in_w), bias(s.out_c);
  const size_t outs = static_cast<size_t>(s.out_c) * s.out_h * s.out_w;
  std::vector<float> residual(outs);
  for (auto* v : {&in, &bias, &residual}) {
    for (float& x : *v) x = u(rng);
  }
  // Upsampled channels: their half-size map in front of `in`, the other channels after it.
  std::vector<float> low(static_cast<size_t>(s.up_c) * (s.in_h / 2) * (s.in_w / 2));
  for (float& x : low) x = u(rng);
  const float* rest = in.data() + static_cast<size_t>(s.up_c) * s.in_h * s.in_w;

  std::vector<float> converted(WinogradConvWeightFloats(s));
  WinogradConvWeights(s, w.data(), converted.data());
  std::vector<uint16_t> grouped(WinogradConvCompactHalves(compact));
  ASSERT_EQ(grouped.size(), halves.size());
  WinogradConvCompactWeights(compact, halves.data(), grouped.data());

  auto run = [&](const WinogradConvShape& shape, const void* weights, std::vector<float>* pooled) {
    const WinogradConvPlan plan = PlanWinogradConv(shape, c.threads);
    if (c.split && shape.compact) {
      EXPECT_EQ(plan.parts, c.threads);
    }
    std::unique_ptr<void, decltype(&std::free)> scratch(
        std::aligned_alloc(64, (plan.scratch_bytes + 63) / 64 * 64), &std::free);
    std::vector<float> out(outs, std::nanf(""));
    const float* res = c.residual == Case::kResidual ? residual.data() : nullptr;
    if (c.residual == Case::kInPlace) {
      out = residual;
      res = out.data();
    }
    pooled->assign(static_cast<size_t>(s.out_c) * s.pool_h * s.pool_w, std::nanf(""));
    WinogradConv(plan, rest, weights, bias.data(), Activation::kRelu, res, out.data(),
                 scratch.get(), pooled->empty() ? nullptr : pooled->data(),
                 s.up_c > 0 ? low.data() : nullptr);
    return out;
  };
  std::vector<float> pooled_want, pooled_got;
  const std::vector<float> want = run(s, converted.data(), &pooled_want);
  const std::vector<float> got = run(compact, grouped.data(), &pooled_got);
  for (size_t i = 0; i < outs; ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "output " << i << " not written";
    ASSERT_EQ(got[i], want[i]) << "output " << i;
  }
  ASSERT_EQ(pooled_got.size(), pooled_want.size());
  for (size_t i = 0; i < pooled_got.size(); ++i) {
    ASSERT_EQ(pooled_got[i], pooled_want[i]) << "pooled " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, WinogradCompactTest,
    ::testing::Values(
        // AVX-512: groups of 4 vectors. F(2x2): 1 chunk; 3, the third narrower.
        CompactCase{2, 16, 64, 64, 21, 18, 1, Case::kNoResidual, Case::kNoPool, 2},
        CompactCase{2, 16, 272, 128, 16, 16, 1, Case::kInPlace, Case::kPoolCeil, 2},
        CompactCase{2, 16, 1056, 32, 9, 13, 2, Case::kResidual, Case::kNoPool, 3},
        CompactCase{2, 16, 144, 16, 11, 7, 1, Case::kNoResidual, Case::kPoolFloor, 1},
        // F(4x4): 1 chunk; 2, the second narrower (two weight groups); 2.
        CompactCase{4, 16, 64, 64, 21, 18, 1, Case::kNoResidual, Case::kNoPool, 2},
        CompactCase{4, 16, 528, 128, 16, 16, 1, Case::kInPlace, Case::kPoolCeil, 2},
        CompactCase{4, 16, 1024, 32, 9, 13, 2, Case::kResidual, Case::kNoPool, 3},
        CompactCase{4, 16, 144, 16, 11, 7, 1, Case::kNoResidual, Case::kPoolFloor, 1},
        // Many blocks per thread.
        CompactCase{2, 16, 32, 48, 60, 52, 1, Case::kResidual, Case::kNoPool, 2},
        CompactCase{4, 16, 32, 48, 60, 52, 1, Case::kInPlace, Case::kNoPool, 2},
        // AVX2: groups of 2 and 1 vectors of 8.
        CompactCase{2, 8, 160, 32, 15, 17, 1, Case::kInPlace, Case::kPoolCeil, 2},
        CompactCase{2, 8, 520, 8, 10, 10, 4, Case::kNoResidual, Case::kNoPool, 2},
        CompactCase{4, 8, 160, 32, 15, 17, 1, Case::kResidual, Case::kPoolFloor, 2},
        CompactCase{4, 8, 520, 8, 10, 10, 2, Case::kNoResidual, Case::kNoPool, 3},
        // Upsampled channels (a fused Resize), within the first chunk and across chunks.
        CompactCase{4, 16, 1024, 32, 10, 14, 1, Case::kResidual, Case::kNoPool, 3, 512},
        CompactCase{2, 8, 160, 32, 16, 18, 1, Case::kInPlace, Case::kPoolCeil, 2, 64},
        CompactCase{4, 8, 520, 8, 10, 12, 1, Case::kNoResidual, Case::kNoPool, 3, 256},
        CompactCase{4, 8, 1040, 16, 8, 8, 1, Case::kResidual, Case::kPoolFloor, 2, 520},
        // F(6x6): AVX-512 (chunks of 384 channels: 2, the second narrower), AVX2 (chunks of
        // 512); dilated; many blocks; upsampled channels across chunks.
        CompactCase{6, 16, 64, 64, 21, 18, 1, Case::kNoResidual, Case::kNoPool, 2},
        CompactCase{6, 16, 528, 128, 16, 16, 1, Case::kInPlace, Case::kPoolCeil, 2},
        CompactCase{6, 16, 32, 48, 60, 52, 1, Case::kResidual, Case::kNoPool, 2},
        CompactCase{6, 8, 160, 32, 15, 17, 1, Case::kResidual, Case::kPoolFloor, 2},
        CompactCase{6, 8, 1040, 8, 13, 11, 2, Case::kNoResidual, Case::kNoPool, 3},
        CompactCase{6, 8, 32, 48, 60, 52, 1, Case::kInPlace, Case::kNoPool, 2},
        CompactCase{6, 8, 1040, 16, 14, 12, 1, Case::kResidual, Case::kPoolCeil, 2, 520},
        // Channels split between the threads: AVX2 in three parts, AVX-512 upsampled.
        CompactCase{2, 8, 64, 96, 10, 10, 1, Case::kResidual, Case::kNoPool, 3, 0, true},
        CompactCase{4, 16, 128, 192, 12, 12, 1, Case::kInPlace, Case::kPoolFloor, 3, 64, true},
        // F(8x8): several chunks, many blocks, dilated, upsampled channels, both sets, the
        // channels split (AVX-512 with the pool, AVX2 in three parts).
        CompactCase{8, 16, 64, 128, 16, 16, 1, Case::kInPlace, Case::kPoolCeil, 2, 0, true},
        CompactCase{8, 8, 32, 48, 14, 10, 1, Case::kResidual, Case::kNoPool, 3, 0, true},
        CompactCase{8, 16, 528, 128, 16, 16, 1, Case::kInPlace, Case::kPoolCeil, 2},
        CompactCase{8, 16, 32, 48, 70, 62, 1, Case::kResidual, Case::kNoPool, 2},
        CompactCase{8, 16, 1024, 32, 18, 14, 1, Case::kResidual, Case::kNoPool, 3, 512},
        CompactCase{8, 8, 1040, 8, 13, 11, 2, Case::kNoResidual, Case::kNoPool, 3},
        CompactCase{8, 8, 160, 32, 15, 17, 1, Case::kResidual, Case::kPoolFloor, 2}));

TEST(WinogradConvFitsTest, RefusesWhatItCannotTake) {
  const WinogradConvShape s = SamePadded(16, 32, 32, 8, 8);
  if (!WinogradConvFits(s)) GTEST_SKIP() << "no AVX-512 on this CPU";
  WinogradConvShape t = s;
  t.in_c = 24;  // not whole blocks
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.block = 4;
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.dilation = 0;
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.out_h = 0;
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.tile = 3;
  EXPECT_FALSE(WinogradConvFits(t));
  // A fused pool: half the sides, rounded either way; never on a dilated layer.
  t = s;
  t.out_h = 7, t.out_w = 8;
  t.pool_h = 4, t.pool_w = 4;
  EXPECT_TRUE(WinogradConvFits(t));
  t.pool_h = 3;
  EXPECT_TRUE(WinogradConvFits(t));
  t.pool_h = 5;
  EXPECT_FALSE(WinogradConvFits(t));
  t.pool_h = 4, t.pool_w = 3;
  EXPECT_FALSE(WinogradConvFits(t));
  t.pool_w = 0;
  EXPECT_FALSE(WinogradConvFits(t));
  t.pool_w = 4;
  t.dilation = 2;
  EXPECT_FALSE(WinogradConvFits(t));
  // Compact weights: every tile.
  t = s;
  t.compact = true;
  for (int tile : {2, 4, 6, 8}) {
    t.tile = tile;
    EXPECT_TRUE(WinogradConvFits(t)) << tile;
  }
  t.tile = 3;
  EXPECT_FALSE(WinogradConvFits(t));
}

// Upsampled channels: whole blocks, some channels left for `in`, even input sides, no
// dilation.
TEST(WinogradConvFitsTest, UpsampledChannels) {
  WinogradConvShape s = SamePadded(16, 48, 16, 8, 10);
  if (!WinogradConvFits(s)) s.block = 8;
  if (!WinogradConvFits(s)) GTEST_SKIP() << "no Winograd kernel on this CPU";
  WinogradConvShape t = s;
  t.up_c = 32;
  EXPECT_TRUE(WinogradConvFits(t));
  t.up_c = 48;  // nothing left
  EXPECT_FALSE(WinogradConvFits(t));
  t.up_c = s.block / 2;
  EXPECT_FALSE(WinogradConvFits(t));
  t.up_c = 32;
  t.in_h = t.out_h = 9;
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.up_c = 32;
  t.in_w = 11, t.out_w = 11;
  EXPECT_FALSE(WinogradConvFits(t));
  t = s;
  t.up_c = 32;
  t.dilation = 2, t.pad_top = t.pad_left = 2;
  EXPECT_FALSE(WinogradConvFits(t));
}

}  // namespace
}  // namespace sparkify::nn::internal
