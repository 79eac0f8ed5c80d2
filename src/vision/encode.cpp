// PNG/JPEG encoding (internal/codecs.h) and RGB thumbnails.
#include <algorithm>
#include <cmath>
#include <new>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/cutout.h"
#include "vision/internal/codecs.h"

namespace sparkify::vision {
namespace {

bool Valid(const Image& image) {
  return !image.pixels.empty() && image.pixels.depth() == CV_8U &&
         (image.pixels.channels() == 3 || image.pixels.channels() == 4);
}

internal::PixelRows RowsOf(const cv::Mat& m) {
  internal::PixelRows rows;
  rows.data = m.ptr<uint8_t>();
  rows.width = m.cols;
  rows.height = m.rows;
  rows.channels = m.channels();
  rows.step = m.step[0];
  return rows;
}

}  // namespace

Result<std::string> EncodePng(const Image& image, int compression) {
  if (!Valid(image)) return Status::InvalidArgument("encoding needs an 8-bit RGB or RGBA image");
  return internal::EncodePng(RowsOf(image.pixels), compression);
}

Result<std::string> EncodeMaskPng(const Mask& mask, int compression) {
  if (mask.alpha.empty() || mask.alpha.type() != CV_32FC1) {
    return Status::InvalidArgument("mask encoding needs a float mask");
  }
  try {
    cv::Mat grey;
    mask.alpha.convertTo(grey, CV_8U, 255.0);  // rounds and saturates
    return internal::EncodePng(RowsOf(grey), compression);
  } catch (const cv::Exception& e) {
    return Status::ResourceExhausted(std::string("encoding a mask: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory encoding a mask");
  }
}

Result<std::string> EncodeJpeg(const Image& image, int quality) {
  if (!Valid(image)) return Status::InvalidArgument("encoding needs an 8-bit RGB or RGBA image");
  return internal::EncodeJpeg(RowsOf(image.pixels), std::clamp(quality, 1, 100));
}

Result<RgbPixels> ThumbnailRgb(const Image& image, int max_side) {
  if (max_side < 1) return Status::InvalidArgument("thumbnail size must be at least 1");
  if (!Valid(image)) return Status::InvalidArgument("thumbnail needs an 8-bit RGB or RGBA image");
  try {
    cv::Mat rgb = image.pixels;
    if (image.has_alpha()) cv::cvtColor(image.pixels, rgb, cv::COLOR_RGBA2RGB);
    const int longer = std::max(rgb.cols, rgb.rows);
    if (longer > max_side) {
      const double f = static_cast<double>(max_side) / longer;
      const cv::Size size(std::max(1, static_cast<int>(std::lround(rgb.cols * f))),
                          std::max(1, static_cast<int>(std::lround(rgb.rows * f))));
      cv::Mat small;
      cv::resize(rgb, small, size, 0, 0, cv::INTER_AREA);
      rgb = small;
    }
    if (!rgb.isContinuous()) rgb = rgb.clone();
    RgbPixels out;
    out.width = rgb.cols;
    out.height = rgb.rows;
    const uint8_t* first = rgb.ptr<uint8_t>();
    out.data.assign(first, first + rgb.total() * 3);
    return out;
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("thumbnail failed in OpenCV: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory making a thumbnail");
  }
}

}  // namespace sparkify::vision
