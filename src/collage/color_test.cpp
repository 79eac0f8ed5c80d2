#include "collage/color.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sparkify::collage {
namespace {

// Published sRGB (D65) -> CIELAB values: Bruce Lindbloom's calculator / EasyRGB, 2 decimals.
struct LabCase {
  Rgb rgb;
  Lab lab;
};
const LabCase kLabCases[] = {
    {{255, 255, 255}, {100.00, 0.00, 0.00}}, {{0, 0, 0}, {0.00, 0.00, 0.00}},
    {{255, 0, 0}, {53.24, 80.09, 67.20}},    {{0, 255, 0}, {87.73, -86.18, 83.18}},
    {{0, 0, 255}, {32.30, 79.19, -107.86}},  {{255, 255, 0}, {97.14, -21.55, 94.48}},
    {{128, 128, 128}, {53.59, 0.00, 0.00}},  {{0, 255, 255}, {91.11, -48.09, -14.13}},
    {{255, 0, 255}, {60.32, 98.23, -60.82}},
};

TEST(ColorTest, RgbToLabMatchesPublishedValues) {
  for (const LabCase& c : kLabCases) {
    SCOPED_TRACE(testing::Message() << int{c.rgb.r} << "," << int{c.rgb.g} << "," << int{c.rgb.b});
    const Lab lab = RgbToLab(c.rgb);
    EXPECT_NEAR(lab.l, c.lab.l, 0.01);
    EXPECT_NEAR(lab.a, c.lab.a, 0.01);
    EXPECT_NEAR(lab.b, c.lab.b, 0.01);
  }
}

TEST(ColorTest, GreysHaveNoChroma) {
  for (int v = 0; v <= 255; v += 15) {
    const Lab lab = RgbToLab(Rgb{uint8_t(v), uint8_t(v), uint8_t(v)});
    EXPECT_NEAR(lab.a, 0.0, 1e-9) << v;
    EXPECT_NEAR(lab.b, 0.0, 1e-9) << v;
  }
}

TEST(ColorTest, RgbToLabClampsAndAcceptsFractions) {
  const Lab over = RgbToLab(300.0, -5.0, 0.0);
  const Lab red = RgbToLab(Rgb{255, 0, 0});
  EXPECT_DOUBLE_EQ(over.l, red.l);
  EXPECT_DOUBLE_EQ(over.a, red.a);
  const Lab half = RgbToLab(127.5, 127.5, 127.5);
  EXPECT_GT(half.l, RgbToLab(Rgb{127, 127, 127}).l);
  EXPECT_LT(half.l, RgbToLab(Rgb{128, 128, 128}).l);
}

TEST(ColorTest, DeltaE76IsEuclidean) {
  EXPECT_DOUBLE_EQ(DeltaE76(Lab{0, 0, 0}, Lab{0, 3, 4}), 5.0);
  EXPECT_DOUBLE_EQ(DeltaE76(Lab{50, 1, 1}, Lab{50, 1, 1}), 0.0);
  EXPECT_NEAR(DeltaE76(RgbToLab(Rgb{255, 255, 255}), RgbToLab(Rgb{0, 0, 0})), 100.0, 1e-9);
  // Symmetric.
  const Lab x = RgbToLab(Rgb{10, 200, 30});
  const Lab y = RgbToLab(Rgb{250, 20, 90});
  EXPECT_DOUBLE_EQ(DeltaE76(x, y), DeltaE76(y, x));
}

TEST(ColorTest, ComplementaryAndSum) {
  const struct {
    Rgb in, out;
    int sum;
  } cases[] = {
      {{0, 0, 0}, {255, 255, 255}, 0},
      {{255, 255, 255}, {0, 0, 0}, 765},
      {{40, 80, 200}, {215, 175, 55}, 320},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Complementary(c.in), c.out);
    EXPECT_EQ(c.in.Sum(), c.sum);
  }
}

TEST(ColorTest, RoundToRgb) {
  const struct {
    std::array<double, 3> in;
    Rgb out;
  } cases[] = {
      {{0.4, 0.5, 254.5}, {0, 1, 255}},
      {{-3, 300, 12.49}, {0, 255, 12}},
      {{NAN, INFINITY, -INFINITY}, {0, 255, 0}},
  };
  for (const auto& c : cases) EXPECT_EQ(RoundToRgb(c.in), c.out);
}

}  // namespace
}  // namespace sparkify::collage
