#include "vision/mask_quality.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace sparkify::vision {
namespace {

constexpr int kScoreSide = 256;

// Linear from 0 at `zero` to 1 at `one` (either order), clamped.
double Ramp(double v, double zero, double one) {
  return std::clamp((v - zero) / (one - zero), 0.0, 1.0);
}

cv::Mat Shrunk(const cv::Mat& alpha) {
  const int side = std::max(alpha.cols, alpha.rows);
  if (side <= kScoreSide) return alpha;
  const double f = static_cast<double>(kScoreSide) / side;
  cv::Mat small;
  cv::resize(alpha, small,
             cv::Size(std::max(1, static_cast<int>(std::lround(alpha.cols * f))),
                      std::max(1, static_cast<int>(std::lround(alpha.rows * f)))),
             0, 0, cv::INTER_AREA);
  return small;
}

}  // namespace

MaskQuality ScoreMask(const Mask& mask) {
  MaskQuality q;
  if (mask.alpha.empty() || mask.alpha.type() != CV_32FC1) return q;
  const cv::Mat a = Shrunk(mask.alpha);
  const int64_t total = static_cast<int64_t>(a.total());
  int64_t visible = 0, uncertain = 0, fg = 0, ring = 0, ring_fg = 0;
  cv::Mat binary(a.size(), CV_8U);
  for (int y = 0; y < a.rows; ++y) {
    const float* p = a.ptr<float>(y);
    uint8_t* b = binary.ptr<uint8_t>(y);
    const bool edge_row = y == 0 || y == a.rows - 1;
    for (int x = 0; x < a.cols; ++x) {
      const float v = p[x];
      visible += v > 0.1f;
      uncertain += v > 0.2f && v < 0.8f;
      b[x] = v >= 0.5f ? 255 : 0;
      fg += b[x] != 0;
      if (edge_row || x == 0 || x == a.cols - 1) {
        ++ring;
        ring_fg += b[x] != 0;
      }
    }
  }
  if (visible == 0 || fg == 0) return q;
  q.confidence = 1.0 - static_cast<double>(uncertain) / static_cast<double>(visible);
  q.area = static_cast<double>(fg) / static_cast<double>(total);
  q.border = ring > 0 ? static_cast<double>(ring_fg) / static_cast<double>(ring) : 0;
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(binary, labels, stats, centroids, 8, CV_32S);
  int largest = 0;
  for (int i = 1; i < n; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
  q.connectedness = static_cast<double>(largest) / static_cast<double>(fg);
  const double area_factor = std::min(Ramp(q.area, 0.01, 0.05), Ramp(q.area, 0.97, 0.85));
  const double border_factor = Ramp(q.border, 0.9, 0.5);
  q.score = q.confidence * q.confidence * q.connectedness * area_factor * border_factor;
  q.subject = q.score >= kSubjectThreshold;
  return q;
}

}  // namespace sparkify::vision
