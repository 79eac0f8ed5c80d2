#include "nn/internal/narrow_conv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace sparkify::nn::internal {
namespace {

// The convolution computed the obvious way, in double, from the same blocked input.
std::vector<float> Reference(const NarrowConvShape& s, const std::vector<float>& in,
                             const std::vector<float>& w, const std::vector<float>& bias,
                             Activation act) {
  const int b = s.block;
  std::vector<float> out(static_cast<size_t>(s.out_c) * s.out_h * s.out_w);
  for (int oc = 0; oc < s.out_c; ++oc) {
    for (int y = 0; y < s.out_h; ++y) {
      for (int x = 0; x < s.out_w; ++x) {
        double sum = bias.empty() ? 0 : bias[oc];
        for (int c = 0; c < s.in_c; ++c) {
          for (int ky = 0; ky < s.kernel_h; ++ky) {
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              int iy = y * s.stride_h - s.pad_top + ky * s.dilation_h;
              int ix = x * s.stride_w - s.pad_left + kx * s.dilation_w;
              if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
              size_t i = ((static_cast<size_t>(c / b) * s.in_h + iy) * s.in_w + ix) * b + c % b;
              size_t k = (((static_cast<size_t>(oc) * (s.in_c / b) + c / b) * s.kernel_h + ky) *
                              s.kernel_w +
                          kx) *
                             b +
                         c % b;
              sum += double(in[i]) * w[k];
            }
          }
        }
        if (act == Activation::kRelu) sum = std::max(sum, 0.0);
        if (act == Activation::kSigmoid) sum = 1 / (1 + std::exp(-sum));
        out[(static_cast<size_t>(oc) * s.out_h + y) * s.out_w + x] = static_cast<float>(sum);
      }
    }
  }
  return out;
}

int OutSize(int in, int kernel, int stride, int dilation, int pad) {
  return (in + 2 * pad - (kernel - 1) * dilation - 1) / stride + 1;
}

// Random inputs of exactly the sizes `s` needs (ASan sees any read past them).
struct Buffers {
  std::vector<float> in, w, bias;
};
Buffers RandomBuffers(const NarrowConvShape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Buffers b;
  b.in.resize(static_cast<size_t>(s.in_c) * s.in_h * s.in_w);
  b.w.resize(static_cast<size_t>(s.out_c) * s.in_c * s.kernel_h * s.kernel_w);
  b.bias.resize(static_cast<size_t>(s.out_c));
  for (auto* v : {&b.in, &b.w, &b.bias}) {
    for (float& x : *v) x = u(rng);
  }
  return b;
}

// The largest |kernel - reference| over the output for one path; 1e9 when an output was left
// unwritten.
double WorstError(const NarrowConvShape& s, const Buffers& b, Activation act,
                  const std::vector<float>& want, bool plain, int threads) {
  std::vector<float> got(want.size(), std::nanf(""));
  NarrowConv(s, b.in.data(), b.w.data(), b.bias.data(), act, got.data(), threads, plain);
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(got[i])) return 1e9;
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
  }
  return worst;
}

TEST(NarrowConvTest, EveryPathMatchesTheReference) {
  std::mt19937 rng(7);
  struct Case {
    int block, in_c, h, w, out_c, kernel, stride, dilation, pad;
  };
  const std::vector<Case> cases = {
      {16, 64, 37, 45, 1, 3, 1, 1, 1}, {16, 32, 9, 5, 3, 5, 2, 1, 2},
      {8, 24, 20, 31, 2, 3, 1, 3, 2},  {8, 8, 1, 40, 1, 1, 1, 1, 0},
      {16, 16, 30, 30, 5, 3, 2, 2, 0}, {8, 16, 64, 80, 1, 3, 1, 1, 1},
      {16, 32, 4, 12, 1, 7, 1, 1, 3},  {16, 64, 150, 140, 1, 3, 1, 1, 1},  // three threads
  };
  for (const Case& c : cases) {
    NarrowConvShape s;
    s.block = c.block;
    s.in_c = c.in_c, s.in_h = c.h, s.in_w = c.w;
    s.out_c = c.out_c;
    s.kernel_h = s.kernel_w = c.kernel;
    s.stride_h = s.stride_w = c.stride;
    s.dilation_h = s.dilation_w = c.dilation;
    s.pad_top = s.pad_left = c.pad;
    s.out_h = OutSize(c.h, c.kernel, c.stride, c.dilation, c.pad);
    s.out_w = OutSize(c.w, c.kernel, c.stride, c.dilation, c.pad);
    ASSERT_TRUE(NarrowConvFits(s));
    const Buffers buf = RandomBuffers(s, rng);
    for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kSigmoid}) {
      const std::vector<float> want = Reference(s, buf.in, buf.w, buf.bias, act);
      for (bool plain : {false, true}) {
        for (int threads : {1, 3}) {
          EXPECT_LT(WorstError(s, buf, act, want, plain, threads), 1e-4)
              << "block " << c.block << " in " << c.in_c << " " << c.h << "x" << c.w << " out "
              << c.out_c << " kernel " << c.kernel << " stride " << c.stride << " plain " << plain
              << " threads " << threads;
        }
      }
    }
  }
  // No bias.
  NarrowConvShape s;
  s.block = 16, s.in_c = 16, s.in_h = s.in_w = s.out_h = s.out_w = 10, s.out_c = 1;
  std::vector<float> in(1600, 1.f), w(16, 0.5f), out(100);
  NarrowConv(s, in.data(), w.data(), nullptr, Activation::kNone, out.data(), 1);
  for (float v : out) EXPECT_FLOAT_EQ(v, 8.f);
}

TEST(NarrowConvTest, RandomShapesMatchTheReference) {
  // Non-square kernels, different strides and dilations across and down, padding beyond
  // the kernel's reach, maps narrower than a tile: every path, one and three threads.
  std::mt19937 rng(2026);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 150; ++round) {
    NarrowConvShape s;
    s.block = pick(0, 1) ? 16 : 8;
    s.in_c = s.block * pick(1, 2);
    s.in_h = pick(1, 24), s.in_w = pick(1, 40);
    s.out_c = pick(1, s.block - 1);
    s.kernel_h = pick(1, 5), s.kernel_w = pick(1, 5);
    s.stride_h = pick(1, 3), s.stride_w = pick(1, 3);
    s.dilation_h = pick(1, 3), s.dilation_w = pick(1, 3);
    s.pad_top = pick(0, 6), s.pad_left = pick(0, 6);
    const int reach_h = (s.kernel_h - 1) * s.dilation_h + 1;
    const int reach_w = (s.kernel_w - 1) * s.dilation_w + 1;
    // The output a graph would have with this much padding on both sides (at least 1).
    s.out_h = (s.in_h + 2 * s.pad_top - reach_h) / s.stride_h + 1;
    s.out_w = (s.in_w + 2 * s.pad_left - reach_w) / s.stride_w + 1;
    if (s.out_h < 1 || s.out_w < 1) continue;
    ASSERT_TRUE(NarrowConvFits(s));
    const Buffers buf = RandomBuffers(s, rng);
    const std::vector<float> want = Reference(s, buf.in, buf.w, buf.bias, Activation::kNone);
    for (bool plain : {false, true}) {
      for (int threads : {1, 3}) {
        EXPECT_LT(WorstError(s, buf, Activation::kNone, want, plain, threads), 2e-4)
            << "round " << round << " block " << s.block << " in " << s.in_c << "x" << s.in_h << "x"
            << s.in_w << " kernel " << s.kernel_h << "x" << s.kernel_w << " stride " << s.stride_h
            << "," << s.stride_w << " dilation " << s.dilation_h << "," << s.dilation_w << " pad "
            << s.pad_top << "," << s.pad_left << " plain " << plain << " threads " << threads;
      }
    }
  }
}

TEST(NarrowConvTest, RefusesWhatItCannotRun) {
  NarrowConvShape s;
  s.block = 16, s.in_c = 24, s.in_h = s.in_w = s.out_h = s.out_w = 4, s.out_c = 1;
  EXPECT_FALSE(NarrowConvFits(s));  // not whole blocks
  s.in_c = 32, s.block = 4;
  EXPECT_FALSE(NarrowConvFits(s));
  s.block = 8, s.stride_h = 0;
  EXPECT_FALSE(NarrowConvFits(s));
  s.stride_h = 1;
  EXPECT_TRUE(NarrowConvFits(s));
  EXPECT_EQ(NarrowConvImpl(8).rfind("narrow:", 0), 0u);
}

}  // namespace
}  // namespace sparkify::nn::internal
