#include "nn/internal/plain_resize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <vector>

#include "nn/test_util.h"

namespace sparkify::nn::internal {
namespace {

// The graph's linear Resize as ONNX states it (half_pixel), in double.
std::vector<double> Reference(const PlainResizeShape& s, const std::vector<float>& in) {
  std::vector<double> out(static_cast<size_t>(s.c) * s.out_h * s.out_w);
  auto at = [&](int c, int y, int x) {
    y = std::clamp(y, 0, s.in_h - 1);
    x = std::clamp(x, 0, s.in_w - 1);
    return double(in[(static_cast<size_t>(c) * s.in_h + y) * s.in_w + x]);
  };
  for (int c = 0; c < s.c; ++c) {
    for (int y = 0; y < s.out_h; ++y) {
      const double fy = (y + 0.5) * s.in_h / s.out_h - 0.5;
      const int y0 = static_cast<int>(std::floor(fy));
      const double wy = fy - y0;
      for (int x = 0; x < s.out_w; ++x) {
        const double fx = (x + 0.5) * s.in_w / s.out_w - 0.5;
        const int x0 = static_cast<int>(std::floor(fx));
        const double wx = fx - x0;
        const double top = at(c, y0, x0) * (1 - wx) + at(c, y0, x0 + 1) * wx;
        const double bottom = at(c, y0 + 1, x0) * (1 - wx) + at(c, y0 + 1, x0 + 1) * wx;
        out[(static_cast<size_t>(c) * s.out_h + y) * s.out_w + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

struct Case {
  int c, in_h, in_w, out_h, out_w, threads;
};

class PlainResizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlainResizeTest, MatchesTheHalfPixelDefinition) {
  const Case& k = GetParam();
  PlainResizeShape s;
  s.c = k.c, s.in_h = k.in_h, s.in_w = k.in_w, s.out_h = k.out_h, s.out_w = k.out_w;
  ASSERT_TRUE(PlainResizeFits(s));
  const auto in = testing::RandomInput(s.c, s.in_h, s.in_w, 7);
  std::vector<float> out(static_cast<size_t>(s.c) * s.out_h * s.out_w, NAN);
  PlainResize(s, in.data(), out.data(), k.threads);
  const auto want = Reference(s, in);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_NEAR(out[i], want[i], 4e-6) << "at " << i;  // a few ulps at most
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PlainResizeTest,
    ::testing::Values(Case{1, 512, 512, 1024, 1024, 2},  // IS-Net's head at 1024
                      Case{1, 1, 1, 2, 2, 2}, Case{1, 1, 3, 4, 9, 1}, Case{3, 5, 7, 15, 14, 3},
                      Case{2, 6, 4, 6, 4, 2},  // scale 1: a copy
                      Case{1, 100, 1, 400, 4, 2}, Case{4, 33, 17, 66, 51, 8}));

// The same numbers as oneDNN's resampling, which the head ran on before.
TEST(PlainResizeTest, AgreesWithOneDnn) {
  PlainResizeShape s;
  s.c = 1, s.in_h = 64, s.in_w = 48, s.out_h = 128, s.out_w = 96;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  dnnl::memory::desc src({1, s.c, s.in_h, s.in_w}, dt::f32, tag::nchw);
  dnnl::memory::desc dst({1, s.c, s.out_h, s.out_w}, dt::f32, tag::nchw);
  auto in = testing::RandomInput(s.c, s.in_h, s.in_w, 11);
  std::vector<float> theirs(static_cast<size_t>(s.out_h) * s.out_w), ours(theirs.size());
  dnnl::memory a(src, eng, in.data()), b(dst, eng, theirs.data());
  dnnl::resampling_forward::desc d(dnnl::prop_kind::forward_inference,
                                   dnnl::algorithm::resampling_linear, src, dst);
  dnnl::resampling_forward(dnnl::resampling_forward::primitive_desc(d, eng))
      .execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_DST, b}});
  strm.wait();
  PlainResize(s, in.data(), ours.data(), 2);
  for (size_t i = 0; i < ours.size(); ++i) ASSERT_NEAR(ours[i], theirs[i], 4e-6) << "at " << i;
}

TEST(PlainResizeTest, FitsOnlyIntegerScalesOfRealMaps) {
  PlainResizeShape s;
  s.c = 1, s.in_h = 4, s.in_w = 4, s.out_h = 8, s.out_w = 8;
  EXPECT_TRUE(PlainResizeFits(s));
  PlainResizeShape t = s;
  t.out_w = 10;
  EXPECT_FALSE(PlainResizeFits(t));
  t = s;
  t.c = 0;
  EXPECT_FALSE(PlainResizeFits(t));
  t = s;
  t.in_h = 0;
  EXPECT_FALSE(PlainResizeFits(t));
}

}  // namespace
}  // namespace sparkify::nn::internal
