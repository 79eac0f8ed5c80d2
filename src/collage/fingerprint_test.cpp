#include "collage/fingerprint.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sparkify::collage {
namespace {

// A test picture: diagonal stripes and a bright disk, `w` x `h`, shifted in brightness.
Image Picture(int w, int h, int brightness = 0, int variant = 0) {
  Image im{w, h, PixelFormat::kRgb, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double u = double(x) / w, v = double(y) / h;
      double val = 60 + 60 * std::sin((u + (variant ? -v : v)) * 12);
      if (std::hypot(u - 0.6, v - 0.4) < 0.2) val = 220;
      uint8_t* p = &im.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(std::clamp(val + brightness, 0.0, 255.0));
      p[1] = static_cast<uint8_t>(std::clamp(val * 0.8 + brightness, 0.0, 255.0));
      p[2] = static_cast<uint8_t>(std::clamp(val * 0.5 + brightness, 0.0, 255.0));
    }
  }
  return im;
}

TEST(FingerprintTest, TheSamePictureResizedOrBrightenedMatches) {
  auto a = FingerprintOf(Picture(250, 250));
  auto b = FingerprintOf(Picture(120, 120));      // resized
  auto c = FingerprintOf(Picture(250, 250, 6));   // re-encoded a little brighter
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(NearDuplicates(*a, *b));
  EXPECT_TRUE(NearDuplicates(*a, *c));
}

TEST(FingerprintTest, DifferentPicturesDoNot) {
  auto a = FingerprintOf(Picture(250, 250));
  auto other = FingerprintOf(Picture(250, 250, 0, 1));  // stripes the other way
  ASSERT_TRUE(a.ok() && other.ok());
  EXPECT_FALSE(NearDuplicates(*a, *other));
  // Two flat covers of different colours: equal (noise) hashes, different means.
  Image red{8, 8, PixelFormat::kRgb, std::vector<uint8_t>(192, 0)};
  Image blue = red;
  for (size_t i = 0; i < 192; i += 3) {
    red.pixels[i] = 200;
    blue.pixels[i + 2] = 200;
  }
  EXPECT_FALSE(NearDuplicates(*FingerprintOf(red), *FingerprintOf(blue)));
  EXPECT_TRUE(NearDuplicates(*FingerprintOf(red), *FingerprintOf(red)));
}

TEST(FingerprintTest, TransparentPixelsDoNotCount) {
  Image rgba{2, 1, PixelFormat::kRgba, {255, 0, 0, 255, 0, 0, 255, 0}};
  auto f = FingerprintOf(rgba);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->mean, (Rgb{255, 0, 0}));
  EXPECT_FALSE(FingerprintOf(Image{}).ok());
}

}  // namespace
}  // namespace sparkify::collage
