#include "collage/image.h"

#include <gtest/gtest.h>

namespace sparkify::collage {
namespace {

Image Filled(int w, int h, PixelFormat f, std::vector<uint8_t> pixel) {
  Image img{w, h, f, {}};
  for (int i = 0; i < w * h; ++i) img.pixels.insert(img.pixels.end(), pixel.begin(), pixel.end());
  return img;
}

TEST(ImageTest, Validate) {
  const struct {
    const char* name;
    Image image;
    bool ok;
  } cases[] = {
      {"1x1 rgb", {1, 1, PixelFormat::kRgb, {1, 2, 3}}, true},
      {"1x1 rgba", {1, 1, PixelFormat::kRgba, {1, 2, 3, 4}}, true},
      {"short buffer", {2, 1, PixelFormat::kRgb, {1, 2, 3}}, false},
      {"long buffer", {1, 1, PixelFormat::kRgb, {1, 2, 3, 4}}, false},
      {"rgba size as rgb", {1, 1, PixelFormat::kRgba, {1, 2, 3}}, false},
      {"zero width", {0, 1, PixelFormat::kRgb, {}}, false},
      {"negative height", {1, -1, PixelFormat::kRgb, {}}, false},
      {"too wide", {kMaxImageSide + 1, 1, PixelFormat::kRgb, {}}, false},
      {"bad format", {1, 1, static_cast<PixelFormat>(7), {1, 2, 3}}, false},
  };
  for (const auto& c : cases) EXPECT_EQ(ValidateImage(c.image).ok(), c.ok) << c.name;
}

TEST(ImageTest, ThumbnailAveragesAreas) {
  const struct {
    const char* name;
    Image in;
    int max_side;
    Image out;
  } cases[] = {
      {"already small: unchanged",
       {2, 1, PixelFormat::kRgb, {1, 2, 3, 4, 5, 6}},
       2,
       {2, 1, PixelFormat::kRgb, {1, 2, 3, 4, 5, 6}}},
      {"2x2 blocks",
       {4, 2, PixelFormat::kRgb, {0, 0,   0, 100, 0, 0,   8, 8, 8, 0, 0, 0,  //
                                  0, 100, 0, 0,   0, 100, 0, 0, 0, 8, 8, 8}},
       2,
       {2, 1, PixelFormat::kRgb, {25, 25, 25, 4, 4, 4}}},
      {"fractional coverage: 3 -> 2 px",
       {3, 1, PixelFormat::kRgb, {0, 0, 0, 90, 90, 90, 180, 180, 180}},
       2,
       {2, 1, PixelFormat::kRgb, {30, 30, 30, 150, 150, 150}}},
      {"vertical",
       {1, 2, PixelFormat::kRgb, {10, 20, 30, 20, 40, 61}},
       1,
       {1, 1, PixelFormat::kRgb, {15, 30, 46}}},
      {"transparent colour does not bleed",
       {2, 1, PixelFormat::kRgba, {255, 0, 0, 0, 0, 0, 255, 255}},
       1,
       {1, 1, PixelFormat::kRgba, {0, 0, 255, 128}}},
      {"fully transparent stays transparent",
       {2, 1, PixelFormat::kRgba, {255, 0, 0, 0, 0, 255, 0, 0}},
       1,
       {1, 1, PixelFormat::kRgba, {0, 0, 0, 0}}},
      {"alpha-weighted colour",
       {2, 1, PixelFormat::kRgba, {200, 0, 0, 255, 0, 0, 0, 85}},
       1,
       {1, 1, PixelFormat::kRgba, {150, 0, 0, 170}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Thumbnail(c.in, c.max_side);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->width, c.out.width);
    EXPECT_EQ(r->height, c.out.height);
    EXPECT_EQ(r->format, c.out.format);
    EXPECT_EQ(r->pixels, c.out.pixels);
  }
}

TEST(ImageTest, ThumbnailKeepsAspectRatio) {
  const struct {
    int w, h, max_side, out_w, out_h;
  } cases[] = {
      {1000, 500, 250, 250, 125}, {500, 1000, 250, 125, 250}, {1000, 10, 250, 250, 3},
      {1000, 1, 250, 250, 1},     {640, 640, 250, 250, 250},  {251, 250, 250, 250, 249},
  };
  for (const auto& c : cases) {
    auto r = Thumbnail(Filled(c.w, c.h, PixelFormat::kRgb, {1, 2, 3}), c.max_side);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->width, c.out_w) << c.w << "x" << c.h;
    EXPECT_EQ(r->height, c.out_h) << c.w << "x" << c.h;
    EXPECT_TRUE(ValidateImage(*r).ok());
  }
}

TEST(ImageTest, ThumbnailOfAUniformImageIsUniform) {
  for (PixelFormat f : {PixelFormat::kRgb, PixelFormat::kRgba}) {
    const std::vector<uint8_t> px = f == PixelFormat::kRgb ? std::vector<uint8_t>{17, 99, 201}
                                                           : std::vector<uint8_t>{17, 99, 201, 77};
    auto r = Thumbnail(Filled(333, 517, f, px), 250);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r.value().pixels.begin(), 17);
    EXPECT_EQ(r->pixels, Filled(r->width, r->height, f, px).pixels);
  }
}

TEST(ImageTest, ThumbnailRejects) {
  EXPECT_FALSE(Thumbnail(Filled(4, 4, PixelFormat::kRgb, {0, 0, 0}), 0).ok());
  EXPECT_FALSE(Thumbnail(Image{4, 4, PixelFormat::kRgb, {}}, 2).ok());
}

}  // namespace
}  // namespace sparkify::collage
