// The tensor steps around the forward pass, on synthetic tensors with known answers.
#include "vision/model_io.h"

#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace sparkify::vision::internal {
namespace {

ModelManifest::Input NormalisedInput(bool rgb) {
  ModelManifest::Input in;
  in.rgb = rgb;
  in.scale = 1.0 / 255.0;
  in.mean = {0.5, 0.25, 0.0};
  in.std = {1.0, 0.5, 2.0};
  return in;
}

cv::Mat Tensor(std::initializer_list<int> shape, std::initializer_list<float> values) {
  std::vector<int> dims(shape);
  cv::Mat m(static_cast<int>(dims.size()), dims.data(), CV_32F);
  std::copy(values.begin(), values.end(), m.ptr<float>());
  return m;
}

float At(const cv::Mat& m, int x, int y) { return m.at<float>(y, x); }

TEST(MakeInputBlobTest, NormalisesPerChannelInTheModelsOrder) {
  Image im;
  im.pixels = cv::Mat(2, 2, CV_8UC3, cv::Scalar(255, 51, 102));  // R, G, B
  for (bool rgb : {true, false}) {
    SCOPED_TRACE(rgb);
    cv::Mat blob = MakeInputBlob(im, NormalisedInput(rgb), 2);
    ASSERT_EQ(blob.dims, 4);
    EXPECT_EQ(blob.size[0], 1);
    EXPECT_EQ(blob.size[1], 3);
    EXPECT_EQ(blob.size[2], 2);
    EXPECT_EQ(blob.size[3], 2);
    const float c0 = blob.ptr<float>(0, 0)[3];  // last pixel of each plane
    const float c1 = blob.ptr<float>(0, 1)[3];
    const float c2 = blob.ptr<float>(0, 2)[3];
    const float first = rgb ? 255.f : 102.f;  // R or B
    const float last = rgb ? 102.f : 255.f;
    EXPECT_NEAR(c0, (first / 255 - 0.5) / 1.0, 1e-6);
    EXPECT_NEAR(c1, (51.f / 255 - 0.25) / 0.5, 1e-6);
    EXPECT_NEAR(c2, (last / 255 - 0.0) / 2.0, 1e-6);
  }
}

TEST(MakeInputBlobTest, StretchesTheWholeImageAndIgnoresAlpha) {
  Image im;
  im.pixels = cv::Mat(10, 40, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  im.pixels(cv::Rect(0, 0, 20, 10)).setTo(cv::Scalar(255, 255, 255, 7));  // left half white
  ModelManifest::Input in;
  cv::Mat blob = MakeInputBlob(im, in, 8);
  ASSERT_EQ(blob.size[2], 8);
  const cv::Mat plane(8, 8, CV_32F, blob.ptr<float>(0, 0));
  EXPECT_NEAR(At(plane, 1, 0), 1.0, 1e-6);  // left half of the square is still white
  EXPECT_NEAR(At(plane, 6, 7), 0.0, 1e-6);  // right half black: no crop, no letterbox
}

ModelManifest::Output Spec(ModelManifest::OutputKind kind) {
  ModelManifest::Output out;
  out.kind = kind;
  out.foreground_classes = {1};
  return out;
}

TEST(OutputToMaskTest, SaliencyMinMaxSigmoidAndClamp) {
  const cv::Mat out = Tensor({1, 1, 1, 3}, {2.f, 4.f, 6.f});
  ModelManifest::Output spec = Spec(ModelManifest::OutputKind::kSaliency);
  spec.minmax = true;
  Result<cv::Mat> m = OutputToMask(out, spec);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(At(*m, 0, 0), 0.0, 1e-6);
  EXPECT_NEAR(At(*m, 1, 0), 0.5, 1e-6);
  EXPECT_NEAR(At(*m, 2, 0), 1.0, 1e-6);
  spec.minmax = false;
  spec.sigmoid = true;
  m = OutputToMask(Tensor({1, 1, 2}, {0.f, -2.f}), spec);  // 1xHxW
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(At(*m, 0, 0), 0.5, 1e-6);
  EXPECT_NEAR(At(*m, 1, 0), 1 / (1 + std::exp(2.0)), 1e-6);
  spec.sigmoid = false;
  m = OutputToMask(Tensor({1, 1, 1, 2}, {-3.f, 7.f}), spec);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(At(*m, 0, 0), 0.f);
  EXPECT_EQ(At(*m, 1, 0), 1.f);
  spec.minmax = true;
  m = OutputToMask(Tensor({1, 1, 1, 2}, {3.f, 3.f}), spec);  // constant map: nothing salient
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(cv::countNonZero(*m), 0);
}

TEST(OutputToMaskTest, SoftmaxSumsForegroundClasses) {
  // 3 classes x 1 x 2 pixels; pixel 0 strongly class 1, pixel 1 uniform.
  const cv::Mat out = Tensor({1, 3, 1, 2}, {0.f, 0.f, 10.f, 0.f, 0.f, 0.f});
  ModelManifest::Output spec = Spec(ModelManifest::OutputKind::kSoftmax);
  Result<cv::Mat> m = OutputToMask(out, spec);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(At(*m, 0, 0), std::exp(10.0) / (2 + std::exp(10.0)), 1e-5);
  EXPECT_NEAR(At(*m, 1, 0), 1.0 / 3, 1e-5);
  spec.foreground_classes = {1, 2};
  m = OutputToMask(out, spec);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(At(*m, 1, 0), 2.0 / 3, 1e-5);
  // Large logits do not overflow.
  m = OutputToMask(Tensor({1, 2, 1, 1}, {1000.f, 2000.f}), spec);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(At(*m, 0, 0), 1.0, 1e-6);
}

TEST(OutputToMaskTest, ArgmaxOverChannelsOrClassIndices) {
  const ModelManifest::Output spec = Spec(ModelManifest::OutputKind::kArgmax);
  Result<cv::Mat> m = OutputToMask(Tensor({1, 3, 1, 3}, {5, 0, 0, 1, 9, 0, 0, 0, 9}), spec);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(At(*m, 0, 0), 0.f);
  EXPECT_EQ(At(*m, 1, 0), 1.f);
  EXPECT_EQ(At(*m, 2, 0), 0.f);
  m = OutputToMask(Tensor({1, 1, 1, 4}, {1.f, 2.f, 0.f, NAN}), spec);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(At(*m, 0, 0), 1.f);
  EXPECT_EQ(At(*m, 1, 0), 0.f);
  EXPECT_EQ(At(*m, 3, 0), 0.f);
}

TEST(OutputToMaskTest, RefusesShapesUnlikeTheKind) {
  ModelManifest::Output saliency = Spec(ModelManifest::OutputKind::kSaliency);
  EXPECT_FALSE(OutputToMask(Tensor({1, 2, 1, 1}, {0, 0}), saliency).ok());
  EXPECT_FALSE(OutputToMask(Tensor({2, 1, 1, 1}, {0, 0}), saliency).ok());
  EXPECT_FALSE(OutputToMask(Tensor({1, 1, 1, 1, 1}, {0}), saliency).ok());
  ModelManifest::Output softmax = Spec(ModelManifest::OutputKind::kSoftmax);
  EXPECT_FALSE(OutputToMask(Tensor({1, 1, 1, 1}, {0}), softmax).ok());
  softmax.num_classes = 21;
  Status s = OutputToMask(Tensor({1, 3, 1, 1}, {0, 0, 0}), softmax).status();
  EXPECT_NE(s.message().find("want 21"), std::string::npos) << s.message();
}

TEST(MaskToImageSizeTest, CoversTheWholeImage) {
  cv::Mat small = (cv::Mat_<float>(2, 2) << 1, 0, 1, 0);
  Mask m = MaskToImageSize(small, 451, 300);
  EXPECT_EQ(m.width(), 451);
  EXPECT_EQ(m.height(), 300);
  EXPECT_EQ(m.alpha.type(), CV_32FC1);
  EXPECT_NEAR(At(m.alpha, 0, 150), 1.0, 1e-6);    // left edge: foreground
  EXPECT_NEAR(At(m.alpha, 450, 150), 0.0, 1e-6);  // right edge: background
  EXPECT_NEAR(At(m.alpha, 0, 0), 1.0, 1e-6);      // no centre crop: corners map too
}

}  // namespace
}  // namespace sparkify::vision::internal
