#include "collage/palette.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

namespace sparkify::collage {
namespace {

// An RGB image from runs of (count, colour), row-major.
Image FromRuns(int w, int h, const std::vector<std::pair<int, Rgb>>& runs) {
  Image img{w, h, PixelFormat::kRgb, {}};
  for (const auto& [count, c] : runs) {
    for (int i = 0; i < count; ++i) img.pixels.insert(img.pixels.end(), {c.r, c.g, c.b});
  }
  return img;
}

// Something like a photo: smooth gradients, a few shapes, sensor noise: ~all colours distinct.
Image PhotoLike(int w, int h, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Image img{w, h, PixelFormat::kRgb, {}};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double r = 40 + 150.0 * x / w, g = 60 + 120.0 * y / h, b = 200 - 100.0 * (x + y) / (w + h);
      if ((x - w / 3) * (x - w / 3) + (y - h / 2) * (y - h / 2) < w * h / 16)
        r = 230, g = 200, b = 40;
      if (x > 2 * w / 3 && y > h / 4 && y < 3 * h / 4) r = 20, g = 20, b = 30;
      for (double* c : {&r, &g, &b}) {
        *c = std::clamp(*c + double(rng() % 41) - 20, 0.0, 255.0);
      }
      img.pixels.insert(img.pixels.end(), {uint8_t(r), uint8_t(g), uint8_t(b)});
    }
  }
  return img;
}

void ExpectPalette(const Palette& got, const Palette& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].color, want[i].color) << i;
    EXPECT_DOUBLE_EQ(got[i].share, want[i].share) << i;
  }
}

TEST(PaletteTest, HandCheckedImages) {
  const Rgb red{255, 0, 0}, blue{0, 0, 255}, white{255, 255, 255};
  const struct {
    const char* name;
    Image image;
    PaletteOptions options;
    Palette expected;
  } cases[] = {
      {"two colours, 70/30",
       FromRuns(10, 10, {{70, red}, {30, blue}}),
       {},
       {{red, 0.7}, {blue, 0.3}}},
      {"two colours interleaved",
       FromRuns(4, 1, {{1, blue}, {1, red}, {1, blue}, {1, blue}}),
       {},
       {{blue, 0.75}, {red, 0.25}}},
      {"single colour", FromRuns(7, 3, {{21, Rgb{12, 34, 56}}}), {}, {{Rgb{12, 34, 56}, 1.0}}},
      {"thirds round to 0.33",
       FromRuns(3, 1, {{1, red}, {1, blue}, {1, white}}),
       {},
       {{Rgb{0, 0, 255}, 0.33}, {red, 0.33}, {white, 0.33}}},
      {"tight groups with k=2 give their means",
       FromRuns(6, 1,
                {{1, Rgb{250, 0, 0}},
                 {1, Rgb{254, 2, 0}},
                 {1, Rgb{252, 4, 0}},
                 {1, Rgb{0, 0, 250}},
                 {1, Rgb{0, 1, 252}},
                 {1, Rgb{0, 0, 254}}}),
       {2, 300, 0, 250},
       {{Rgb{0, 0, 252}, 0.5}, {Rgb{252, 2, 0}, 0.5}}},
      {"k=1 is the mean colour",
       FromRuns(2, 1, {{1, Rgb{0, 0, 0}}, {1, Rgb{100, 50, 2}}}),
       {1, 300, 0, 250},
       {{Rgb{50, 25, 1}, 1.0}}},
      {"rounding share 2/3",
       FromRuns(3, 1, {{2, red}, {1, blue}}),
       {},
       {{red, 0.67}, {blue, 0.33}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ComputePalette(c.image, c.options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectPalette(*r, c.expected);
  }
}

TEST(PaletteTest, TransparentPixelsAreNotCounted) {
  Image img{4, 1, PixelFormat::kRgba, {0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 1, 0, 0, 255, 255}};
  auto r = ComputePalette(img);
  ASSERT_TRUE(r.ok());
  ExpectPalette(*r, {{Rgb{0, 0, 255}, 0.5}, {Rgb{255, 0, 0}, 0.5}});
}

TEST(PaletteTest, Rejects) {
  const struct {
    const char* name;
    Image image;
    PaletteOptions options;
  } cases[] = {
      {"all transparent", {1, 1, PixelFormat::kRgba, {1, 2, 3, 0}}, {}},
      {"bad buffer", {2, 2, PixelFormat::kRgb, {1, 2, 3}}, {}},
      {"wider than 250", FromRuns(251, 1, {{251, Rgb{}}}), {}},
      {"k = 0", FromRuns(1, 1, {{1, Rgb{}}}), {0, 300, 0, 250}},
      {"max_side 0", FromRuns(1, 1, {{1, Rgb{}}}), {10, 300, 0, 0}},
  };
  for (const auto& c : cases) {
    auto r = ComputePalette(c.image, c.options);
    EXPECT_FALSE(r.ok()) << c.name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.name;
    }
  }
}

TEST(PaletteTest, DeterministicForASeed) {
  const Image img = PhotoLike(120, 90, 1);
  auto a = ComputePalette(img, {10, 300, 7, 250});
  auto b = ComputePalette(img, {10, 300, 7, 250});
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectPalette(*a, *b);
}

TEST(PaletteTest, PhotoLikeImageTimingAndShape) {
  const Image img = PhotoLike(250, 250, 2);
  double best_ms = 1e9;
  Palette palette;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = ComputePalette(img);
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(r.ok());
    palette = *r;
    best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("palette of a 250x250 photo-like image: %.2f ms (best of 5)\n", best_ms);
  EXPECT_LT(best_ms, 1000.0);  // generous: sanitizer builds and a busy machine
  ASSERT_EQ(palette.size(), 10u);
  double sum = 0;
  for (size_t i = 0; i < palette.size(); ++i) {
    sum += palette[i].share;
    if (i > 0) {
      EXPECT_GE(palette[i - 1].share, palette[i].share);
    }
    EXPECT_DOUBLE_EQ(palette[i].share, RoundShare(palette[i].share));
  }
  EXPECT_NEAR(sum, 1.0, 0.05);
}

TEST(PaletteTest, ValidatePalette) {
  const struct {
    Palette palette;
    bool ok;
  } cases[] = {
      {{{Rgb{}, 1.0}}, true},   {{{Rgb{}, 0.0}}, true},  {{}, false},
      {{{Rgb{}, -0.1}}, false}, {{{Rgb{}, 1.5}}, false}, {{{Rgb{}, NAN}}, false},
  };
  for (const auto& c : cases) EXPECT_EQ(ValidatePalette(c.palette).ok(), c.ok);
}

TEST(PaletteTest, RoundShare) {
  EXPECT_DOUBLE_EQ(RoundShare(0.704), 0.70);
  EXPECT_DOUBLE_EQ(RoundShare(0.706), 0.71);
  EXPECT_DOUBLE_EQ(RoundShare(1.0 / 3), 0.33);
  EXPECT_DOUBLE_EQ(RoundShare(0.004), 0.0);
}

}  // namespace
}  // namespace sparkify::collage
