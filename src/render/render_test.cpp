#include "render/render.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <opencv2/core.hpp>

namespace sparkify::render {
namespace {

using layout::Layout;
using layout::Placement;

const layout::Rgb kBlue{0, 0, 255};

vision::Image Solid(int w, int h, cv::Scalar rgb_or_rgba, int channels = 3) {
  return {cv::Mat(h, w, channels == 4 ? CV_8UC4 : CV_8UC3, rgb_or_rgba)};
}

Placement At(size_t item, double x, double y, double w, double h, double rot, int z) {
  Placement p;
  p.item = item;
  p.x = x;
  p.y = y;
  p.width = w;
  p.height = h;
  p.rotation = rot;
  p.z = z;
  return p;
}

// A flat ground (no gradient, frame line, shadow or marks), for the image drawing itself.
Layout Canvas(std::vector<Placement> placements) {
  Layout l;
  l.size = 400;
  l.background = kBlue;
  l.background_edge = kBlue;
  l.frame_width = 0;
  l.placements = std::move(placements);
  return l;
}

cv::Vec3b Px(const vision::Image& img, int x, int y) { return img.pixels.at<cv::Vec3b>(y, x); }
bool Near(cv::Vec3b a, cv::Vec3b b, int tol = 1) {
  for (int k = 0; k < 3; ++k) {
    if (std::abs(a[k] - b[k]) > tol) return false;
  }
  return true;
}
const cv::Vec3b kBg(0, 0, 255), kRed(255, 0, 0), kGreen(0, 255, 0);

TEST(Render, EmptyLayoutIsTheBackground) {
  auto out = Render(Canvas({}), {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->width(), 400);
  ASSERT_EQ(out->height(), 400);
  ASSERT_EQ(out->pixels.channels(), 3);
  for (int y = 0; y < 400; y += 7) {
    for (int x = 0; x < 400; x += 7) ASSERT_EQ(Px(*out, x, y), kBg);
  }
}

TEST(Render, OpaqueCoverAtItsPlaceAndBackgroundElsewhere) {
  auto out = Render(Canvas({At(0, 200, 150, 100, 60, 0, 0)}), {Solid(37, 23, {255, 0, 0})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Px(*out, 200, 150), kRed);
  EXPECT_EQ(Px(*out, 151, 121), kRed);  // just inside the corners: [150,250) x [120,180)
  EXPECT_EQ(Px(*out, 248, 178), kRed);
  EXPECT_EQ(Px(*out, 148, 150), kBg);  // just outside
  EXPECT_EQ(Px(*out, 200, 182), kBg);
  EXPECT_EQ(Px(*out, 5, 5), kBg);
}

TEST(Render, RotationMovesTheCorners) {
  const vision::Image red = Solid(50, 50, {255, 0, 0});
  auto straight = Render(Canvas({At(0, 200, 200, 100, 100, 0, 0)}), {red});
  auto turned = Render(Canvas({At(0, 200, 200, 100, 100, 45, 0)}), {red});
  ASSERT_TRUE(straight.ok() && turned.ok());
  // A corner of the square is off the diamond; the diamond's tip is off the square.
  EXPECT_EQ(Px(*straight, 153, 153), kRed);
  EXPECT_EQ(Px(*turned, 153, 153), kBg);
  EXPECT_EQ(Px(*straight, 200, 135), kBg);
  EXPECT_EQ(Px(*turned, 200, 135), kRed);
}

TEST(Render, RotationIsClockwise) {
  // Left half red, right half green; a quarter turn clockwise puts red on top.
  vision::Image img = Solid(40, 40, {0, 255, 0});
  img.pixels(cv::Rect(0, 0, 20, 40)).setTo(cv::Scalar(255, 0, 0));
  auto out = Render(Canvas({At(0, 200, 200, 100, 100, 90, 0)}), {img});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Px(*out, 200, 170), kRed);
  EXPECT_EQ(Px(*out, 200, 230), kGreen);
}

TEST(Render, HalfTransparentCutoutBlends) {
  // Straight alpha 128 red over blue: 128/255 red, the rest of the blue.
  auto out = Render(Canvas({At(0, 200, 200, 80, 80, 0, 0)}), {Solid(16, 16, {255, 0, 0, 128}, 4)});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(Near(Px(*out, 200, 200), cv::Vec3b(128, 0, 127))) << Px(*out, 200, 200);
  // A fully transparent pixel leaves the background alone.
  auto clear = Render(Canvas({At(0, 200, 200, 80, 80, 0, 0)}), {Solid(16, 16, {255, 0, 0, 0}, 4)});
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(Px(*clear, 200, 200), kBg);
}

TEST(Render, HigherZInFrontWhateverTheListOrder) {
  const std::vector<vision::Image> imgs{Solid(10, 10, {255, 0, 0}), Solid(10, 10, {0, 255, 0})};
  auto a = Render(Canvas({At(0, 200, 200, 100, 100, 0, 1), At(1, 200, 200, 100, 100, 0, 0)}), imgs);
  auto b = Render(Canvas({At(1, 200, 200, 100, 100, 0, 0), At(0, 200, 200, 100, 100, 0, 1)}), imgs);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Px(*a, 200, 200), kRed);
  EXPECT_EQ(Px(*b, 200, 200), kRed);
}

TEST(Render, TiltedEdgesAreAntialiased) {
  auto out = Render(Canvas({At(0, 200, 200, 150, 150, 30, 0)}), {Solid(8, 8, {255, 0, 0})});
  ASSERT_TRUE(out.ok());
  int blended = 0;
  for (int y = 0; y < 400; ++y) {
    for (int x = 0; x < 400; ++x) {
      const cv::Vec3b p = Px(*out, x, y);
      if (p != kBg && p != kRed) ++blended;
    }
  }
  EXPECT_GT(blended, 200);  // the edge pixels (perimeter ~600 px)
}

TEST(Render, LargeImagesAreAreaAveraged) {
  // A 1-pixel checkerboard drawn 8 times smaller must come out as grey, not as moire.
  cv::Mat board(800, 800, CV_8UC3);
  for (int y = 0; y < 800; ++y) {
    for (int x = 0; x < 800; ++x) {
      const uint8_t v = (x + y) % 2 ? 255 : 0;
      board.at<cv::Vec3b>(y, x) = {v, v, v};
    }
  }
  auto out = Render(Canvas({At(0, 200, 200, 100, 100, 10, 0)}), {{board}});
  ASSERT_TRUE(out.ok());
  for (int d = -30; d <= 30; d += 10) {
    const cv::Vec3b p = Px(*out, 200 + d, 200 - d);
    EXPECT_NEAR(p[0], 128, 3) << d;
  }
}

TEST(Render, ScaleGivesASharperPictureOfTheSameCollage) {
  auto out =
      Render(Canvas({At(0, 100, 300, 60, 60, 0, 0)}), {Solid(10, 10, {255, 0, 0})}, {.scale = 2});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->width(), 800);
  EXPECT_EQ(Px(*out, 200, 600), kRed);
  EXPECT_EQ(Px(*out, 200, 539), kBg);  // 300*2 - 60: the box starts at row 540, sharp
  EXPECT_EQ(Px(*out, 200, 540), kRed);
  EXPECT_EQ(Px(*out, 200, 659), kRed);
  EXPECT_EQ(Px(*out, 200, 660), kBg);
}

TEST(Render, PartlyOffTheCanvasIsClipped) {
  auto out = Render(Canvas({At(0, -10, 395, 100, 100, 20, 0), At(1, 5000, 5000, 10, 10, 0, 1)}),
                    {Solid(10, 10, {255, 0, 0}), Solid(10, 10, {0, 255, 0})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Px(*out, 2, 398), kRed);
}

TEST(RenderPng, DecodesToTheRenderedPixels) {
  const Layout l = Canvas({At(0, 120, 220, 90, 70, -12, 0), At(1, 210, 200, 120, 120, 8, 1)});
  const std::vector<vision::Image> imgs{Solid(30, 20, {200, 180, 20}),
                                        Solid(64, 64, {10, 240, 90, 200}, 4)};
  auto png = RenderPng(l, imgs);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ASSERT_GT(png->size(), 8u);
  EXPECT_EQ(png->substr(1, 3), "PNG");
  auto decoded = vision::DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  auto direct = Render(l, imgs);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(decoded->pixels.channels(), 3);
  EXPECT_EQ(cv::norm(decoded->pixels, direct->pixels, cv::NORM_INF), 0);
}

TEST(Render, GroundIsARadialGradientWithAFrameLine) {
  Layout l = Canvas({});
  l.background = {200, 100, 50};
  l.background_edge = {100, 50, 25};
  l.light_x = 0.5;
  l.light_y = 0.5;
  l.frame_inset = 20;
  l.frame_width = 4;
  l.frame_color = {255, 255, 255};
  auto out = Render(l, {});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(Near(Px(*out, 200, 200), cv::Vec3b(200, 100, 50), 2));  // the light
  EXPECT_EQ(Px(*out, 0, 0), cv::Vec3b(100, 50, 25));                  // past 75%: the edge
  // Halfway to 75% of the way to the corner: halfway between the two colours.
  const double r = std::hypot(200.0, 200.0) * 0.75 / 2;
  const int x = static_cast<int>(200 + r / std::sqrt(2.0));
  EXPECT_TRUE(Near(Px(*out, x, x), cv::Vec3b(150, 75, 37), 3)) << Px(*out, x, x);
  EXPECT_EQ(Px(*out, 22, 200), cv::Vec3b(255, 255, 255));  // on the frame line
  EXPECT_NE(Px(*out, 26, 200), cv::Vec3b(255, 255, 255));  // just inside it
  EXPECT_NE(Px(*out, 17, 200), cv::Vec3b(255, 255, 255));  // just outside it
}

TEST(Render, PrintsHaveAWhiteBorderAndCastAShadow) {
  Placement print = At(0, 200, 200, 100, 100, 0, 0);
  print.frame = 10;
  print.shadow = true;
  Layout l = Canvas({print});
  l.shadow = {0, 12, 8, 0.5};
  auto out = Render(l, {Solid(10, 10, cv::Scalar(255, 0, 0))});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Px(*out, 200, 200), kRed);                      // the picture
  EXPECT_EQ(Px(*out, 155, 200), cv::Vec3b(255, 255, 255));  // its border
  const cv::Vec3b below = Px(*out, 200, 258);               // the shadow, below
  EXPECT_LT(below[2], 200);
  EXPECT_EQ(Px(*out, 200, 140), kBg);  // none above (dy > 0)
}

TEST(Render, CutoutShadowsFollowTheirShape) {
  // A cut-out whose left half is transparent: its shadow is under the right half only.
  cv::Mat rgba(20, 20, CV_8UC4, cv::Scalar(0, 255, 0, 0));
  rgba(cv::Rect(10, 0, 10, 20)).setTo(cv::Scalar(0, 255, 0, 255));
  Placement cut = At(0, 200, 200, 200, 200, 0, 0);
  cut.shadow = true;
  Layout l = Canvas({cut});
  l.shadow = {0, 30, 4, 0.6};
  auto out = Render(l, {vision::Image{rgba}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Px(*out, 250, 200), kGreen);
  EXPECT_LT(Px(*out, 250, 315)[2], 150);  // shadow below the opaque half
  EXPECT_EQ(Px(*out, 150, 315), kBg);     // nothing below the transparent half
}

TEST(Render, StrokesAreRoundAndAntialiased) {
  Layout l = Canvas({});
  layout::Stroke s;
  s.points = {{100, 100}, {300, 100}, {300, 300}};
  s.width = 9;
  s.color = {255, 255, 255};
  l.marks = {s};
  auto out = Render(l, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Px(*out, 200, 100), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(Px(*out, 300, 200), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(Px(*out, 97, 100), cv::Vec3b(255, 255, 255));  // a round cap past the end
  EXPECT_EQ(Px(*out, 200, 110), kBg);                      // beyond half the width
  const cv::Vec3b edge = Px(*out, 200, 104);               // on the edge: a blend
  EXPECT_GT(edge[0], 40);
  EXPECT_LT(edge[0], 215);
}

TEST(Render, BadInputsAreErrors) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const vision::Image ok = Solid(4, 4, {1, 2, 3});
  struct Case {
    const char* name;
    Layout layout;
    std::vector<vision::Image> images;
    RenderOptions options;
  };
  Layout zero = Canvas({});
  zero.size = 0;
  const Case cases[] = {
      {"item_without_image", Canvas({At(1, 200, 200, 10, 10, 0, 0)}), {ok}, {}},
      {"empty_image", Canvas({At(0, 200, 200, 10, 10, 0, 0)}), {vision::Image{}}, {}},
      {"grey_image", Canvas({At(0, 200, 200, 10, 10, 0, 0)}), {{cv::Mat(4, 4, CV_8UC1)}}, {}},
      {"16_bit_image", Canvas({At(0, 200, 200, 10, 10, 0, 0)}), {{cv::Mat(4, 4, CV_16UC3)}}, {}},
      {"nan_x", Canvas({At(0, nan, 200, 10, 10, 0, 0)}), {ok}, {}},
      {"inf_rotation", Canvas({At(0, 1, 1, 10, 10, HUGE_VAL, 0)}), {ok}, {}},
      {"zero_width", Canvas({At(0, 200, 200, 0, 10, 0, 0)}), {ok}, {}},
      {"negative_height", Canvas({At(0, 200, 200, 10, -1, 0, 0)}), {ok}, {}},
      {"zero_size", zero, {}, {}},
      {"zero_scale", Canvas({}), {}, {.scale = 0}},
      {"nan_scale", Canvas({}), {}, {.scale = nan}},
      {"huge_scale", Canvas({}), {}, {.scale = 1e9}},
  };
  for (const Case& c : cases) {
    auto out = Render(c.layout, c.images, c.options);
    ASSERT_FALSE(out.ok()) << c.name;
    EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument) << c.name;
    auto png = RenderPng(c.layout, c.images, c.options);
    EXPECT_FALSE(png.ok()) << c.name;
  }
  auto bad_level = RenderPng(Canvas({}), {}, {.png_compression = 12});
  ASSERT_FALSE(bad_level.ok());
  EXPECT_EQ(bad_level.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sparkify::render
