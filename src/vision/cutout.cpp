// CutOut and ForegroundShare.
#include "vision/cutout.h"

#include "vision/refine.h"

#include <algorithm>
#include <new>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace sparkify::vision {

double ForegroundShare(const Mask& mask) {
  if (mask.alpha.empty()) return 0;
  cv::Mat fg;
  cv::compare(mask.alpha, 0.5, fg, cv::CMP_GE);
  return static_cast<double>(cv::countNonZero(fg)) / static_cast<double>(mask.alpha.total());
}

Result<CutOutResult> CutOut(const Image& image, const Mask& mask, const CutOutOptions& options) {
  if (image.pixels.empty() || image.pixels.depth() != CV_8U ||
      (image.pixels.channels() != 3 && image.pixels.channels() != 4)) {
    return Status::InvalidArgument("cut-out needs a non-empty 8-bit RGB or RGBA image");
  }
  if (mask.alpha.type() != CV_32FC1 || mask.width() != image.width() ||
      mask.height() != image.height()) {
    return Status::InvalidArgument("cut-out mask is not a float mask of the image's size");
  }
  CutOutResult result;
  result.foreground_share = ForegroundShare(mask);
  result.cropped = result.foreground_share >= options.crop_threshold;
  result.quality = ScoreMask(mask);
  Image rgba;
  try {
    const Mask used = options.refine ? RefineMask(mask, {}, &image) : mask;
    Image source = image;
    if (options.refine) {
      SPARKIFY_ASSIGN_OR_RETURN(source, DecontaminateEdges(image, used));
    }
    cv::Mat alpha;
    if (source.has_alpha()) {
      cv::Mat existing;
      cv::extractChannel(source.pixels, existing, 3);
      existing.convertTo(existing, CV_32F);
      cv::multiply(used.alpha, existing, alpha);
      alpha.convertTo(alpha, CV_8U);  // rounds and saturates
      rgba.pixels = source.pixels.clone();
    } else {
      used.alpha.convertTo(alpha, CV_8U, 255.0);
      cv::cvtColor(source.pixels, rgba.pixels, cv::COLOR_RGB2RGBA);
    }
    cv::insertChannel(alpha, rgba.pixels, 3);
    // Nothing under full transparency: the old background there is never seen (everything
    // that draws a cut-out blends premultiplied), and zeros make the PNG a third smaller.
    rgba.pixels.setTo(cv::Scalar::all(0), alpha == 0);
    if (options.crop_to_subject) {
      cv::Rect box = cv::boundingRect(alpha > 0);
      if (box.area() > 0) {
        const int margin = std::max(2, static_cast<int>(0.015 * std::max(alpha.cols, alpha.rows)));
        const int x0 = std::max(0, box.x - margin), y0 = std::max(0, box.y - margin);
        const int x1 = std::min(alpha.cols, box.x + box.width + margin);
        const int y1 = std::min(alpha.rows, box.y + box.height + margin);
        rgba.pixels = rgba.pixels(cv::Rect(x0, y0, x1 - x0, y1 - y0)).clone();
      }
    }
    result.width = rgba.width();
    result.height = rgba.height();
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("cut-out failed in OpenCV: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory making a cut-out");
  }
  SPARKIFY_ASSIGN_OR_RETURN(result.png, EncodePng(rgba, options.png_compression));
  return result;
}

}  // namespace sparkify::vision
