// CutOut, ForegroundShare, the encoders and ThumbnailRgb on synthetic images.
#include "vision/cutout.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "vision/test_util.h"

namespace sparkify::vision {
namespace {

using namespace sparkify::vision::testing;  // NOLINT

Image Solid(int w, int h, cv::Scalar rgb, int channels = 3) {
  Image im;
  im.pixels = cv::Mat(h, w, CV_8UC(channels), rgb);
  return im;
}

Mask LeftHalf(int w, int h, float left, float right) {
  Mask m;
  m.alpha = cv::Mat(h, w, CV_32F, cv::Scalar(right));
  m.alpha(cv::Rect(0, 0, w / 2, h)).setTo(left);
  return m;
}

TEST(ForegroundShareTest, CountsPixelsAtOrAboveOneHalf) {
  EXPECT_DOUBLE_EQ(ForegroundShare(LeftHalf(10, 4, 1.f, 0.f)), 0.5);
  EXPECT_DOUBLE_EQ(ForegroundShare(LeftHalf(10, 4, 0.5f, 0.49f)), 0.5);
  EXPECT_DOUBLE_EQ(ForegroundShare(LeftHalf(10, 4, 0.f, 0.f)), 0.0);
  EXPECT_DOUBLE_EQ(ForegroundShare(Mask{}), 0.0);
}

TEST(CutOutTest, MaskBecomesSoftAlpha) {
  const Image im = Solid(8, 2, cv::Scalar(10, 20, 30));
  CutOutOptions raw;
  raw.refine = false;  // the model's mask as it is
  Result<CutOutResult> cut = CutOut(im, LeftHalf(8, 2, 1.f, 0.25f), raw);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_DOUBLE_EQ(cut->foreground_share, 0.5);
  EXPECT_TRUE(cut->cropped);
  Result<Image> png = DecodeImage(cut->png);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ASSERT_EQ(png->pixels.type(), CV_8UC4);
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(0, 0), cv::Vec4b(10, 20, 30, 255));
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(1, 7), cv::Vec4b(10, 20, 30, 64));  // 0.25 * 255
}

TEST(CutOutTest, FullyTransparentPixelsCarryNoColour) {
  CutOutOptions raw;
  raw.refine = false;
  raw.crop_to_subject = false;
  // A noisy background (what used to stay under alpha 0), the right half dropped.
  Image im = Solid(16, 4, cv::Scalar(0, 0, 0));
  cv::randu(im.pixels, cv::Scalar::all(0), cv::Scalar::all(256));
  Result<CutOutResult> cut = CutOut(im, LeftHalf(16, 4, 1.f, 0.f), raw);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  Result<Image> png = DecodeImage(cut->png);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 16; ++x) {
      const cv::Vec4b p = png->pixels.at<cv::Vec4b>(y, x);
      if (x < 8) {
        const cv::Vec3b src = im.pixels.at<cv::Vec3b>(y, x);
        EXPECT_EQ(p, cv::Vec4b(src[0], src[1], src[2], 255)) << x << "," << y;
      } else {
        EXPECT_EQ(p, cv::Vec4b(0, 0, 0, 0)) << x << "," << y;
      }
    }
  }
}

TEST(CutOutTest, ExistingAlphaIsMultiplied) {
  const Image im = Solid(4, 1, cv::Scalar(1, 2, 3, 128), 4);
  CutOutOptions raw;
  raw.refine = false;
  Result<CutOutResult> cut = CutOut(im, LeftHalf(4, 1, 0.5f, 1.f), raw);
  ASSERT_TRUE(cut.ok());
  Result<Image> png = DecodeImage(cut->png);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(0, 0)[3], 64);   // 0.5 * 128
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(0, 3)[3], 128);  // 1 * 128
}

TEST(CutOutTest, RefinedAlphaDropsTheFaintPartAndScoresTheMask) {
  const Image im = Solid(80, 20, cv::Scalar(10, 20, 30));
  CutOutOptions whole;
  whole.crop_to_subject = false;
  Result<CutOutResult> cut = CutOut(im, LeftHalf(80, 20, 1.f, 0.25f), whole);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  Result<Image> png = DecodeImage(cut->png);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(10, 5)[3], 255);
  EXPECT_EQ(png->pixels.at<cv::Vec4b>(10, 75)[3], 0);  // 0.25 is below the hardening's floor
  EXPECT_DOUBLE_EQ(cut->foreground_share, 0.5);        // of the model's mask
  EXPECT_GT(cut->quality.confidence, 0.0);
  // Cropped to the subject: the left half, plus a 2-pixel margin.
  Result<CutOutResult> cropped = CutOut(im, LeftHalf(80, 20, 1.f, 0.25f));
  ASSERT_TRUE(cropped.ok());
  EXPECT_GE(cropped->width, 40);
  EXPECT_LE(cropped->width, 44);
  EXPECT_EQ(cropped->height, 20);
  EXPECT_EQ(DecodeImage(cropped->png)->width(), cropped->width);
}

TEST(CutOutTest, ThresholdDecidesCropped) {
  const Image im = Solid(100, 10, cv::Scalar(0, 0, 0));
  Mask m;
  m.alpha = cv::Mat::zeros(10, 100, CV_32F);
  m.alpha(cv::Rect(0, 0, 9, 10)).setTo(1.f);  // 9% foreground
  Result<CutOutResult> below = CutOut(im, m);
  ASSERT_TRUE(below.ok());
  EXPECT_NEAR(below->foreground_share, 0.09, 1e-12);
  EXPECT_FALSE(below->cropped);
  EXPECT_FALSE(below->png.empty());            // produced anyway
  m.alpha(cv::Rect(0, 0, 10, 10)).setTo(1.f);  // exactly 10%
  EXPECT_TRUE(CutOut(im, m)->cropped);
  CutOutOptions strict;
  strict.crop_threshold = 0.5;
  EXPECT_FALSE(CutOut(im, m, strict)->cropped);
}

TEST(CutOutTest, RefusesMismatchedInputs) {
  const Image im = Solid(8, 2, cv::Scalar(1, 1, 1));
  EXPECT_EQ(CutOut(im, LeftHalf(8, 3, 1, 0)).status().code(), Status::Code::kInvalidArgument);
  Mask bytes;
  bytes.alpha = cv::Mat::zeros(2, 8, CV_8U);
  EXPECT_FALSE(CutOut(im, bytes).ok());
  EXPECT_FALSE(CutOut(Image{}, Mask{}).ok());
}

TEST(EncodeTest, PngAndJpegRoundTrip) {
  const Image rgba = Solid(5, 3, cv::Scalar(200, 100, 50, 25), 4);
  // Every level, the fast ones (Paeth + run-length) included, on noise: exact.
  Image noise = Solid(37, 23, cv::Scalar::all(0), 4);
  cv::randu(noise.pixels, cv::Scalar::all(0), cv::Scalar::all(256));
  for (int level = 0; level <= 9; ++level) {
    Result<std::string> png = EncodePng(noise, level);
    ASSERT_TRUE(png.ok()) << level;
    Result<Image> back = DecodeImage(*png);
    ASSERT_TRUE(back.ok()) << level;
    EXPECT_EQ(cv::norm(back->pixels, noise.pixels, cv::NORM_INF), 0) << level;
  }
  Result<std::string> png = EncodePng(rgba, 9);
  ASSERT_TRUE(png.ok());
  Result<Image> back = DecodeImage(*png);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pixels.at<cv::Vec4b>(2, 4), cv::Vec4b(200, 100, 50, 25));
  Result<std::string> jpeg = EncodeJpeg(rgba, 95);
  ASSERT_TRUE(jpeg.ok());
  Result<Image> jback = DecodeImage(*jpeg);
  ASSERT_TRUE(jback.ok());
  ASSERT_EQ(jback->pixels.type(), CV_8UC3);  // alpha dropped
  const cv::Vec3b px = jback->pixels.at<cv::Vec3b>(1, 2);
  EXPECT_NEAR(px[0], 200, 4);
  EXPECT_NEAR(px[2], 50, 4);
  EXPECT_FALSE(EncodePng(Image{}).ok());
}

TEST(ThumbnailRgbTest, ShrinksTheLongerSideOnly) {
  Image im = Solid(1000, 500, cv::Scalar(9, 8, 7));
  Result<RgbPixels> t = ThumbnailRgb(im, 250);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->width, 250);
  EXPECT_EQ(t->height, 125);
  ASSERT_EQ(t->data.size(), 250u * 125 * 3);
  EXPECT_EQ(t->data[0], 9);
  EXPECT_EQ(t->data[1], 8);
  EXPECT_EQ(t->data[2], 7);
  Result<RgbPixels> tall = ThumbnailRgb(Solid(300, 900, cv::Scalar(0, 0, 0)), 250);
  ASSERT_TRUE(tall.ok());
  EXPECT_EQ(tall->height, 250);
  EXPECT_EQ(tall->width, 83);
  Result<RgbPixels> small = ThumbnailRgb(Solid(40, 30, cv::Scalar(1, 2, 3, 0), 4), 250);
  ASSERT_TRUE(small.ok());  // never enlarged; alpha dropped, colour under it kept
  EXPECT_EQ(small->width, 40);
  EXPECT_EQ(small->height, 30);
  EXPECT_EQ(small->data.size(), 40u * 30 * 3);
  EXPECT_EQ(small->data[2], 3);
  Image roi;
  roi.pixels = im.pixels(cv::Rect(0, 100, 1000, 10));  // a view into a larger buffer
  Result<RgbPixels> r = ThumbnailRgb(roi, 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data.size(), 1000u * 10 * 3);
  EXPECT_FALSE(ThumbnailRgb(im, 0).ok());
  EXPECT_FALSE(ThumbnailRgb(Image{}, 10).ok());
}

}  // namespace
}  // namespace sparkify::vision
