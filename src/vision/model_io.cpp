// Pre- and post-processing of segmentation model tensors (see model_io.h).
#include "vision/model_io.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace sparkify::vision::internal {
namespace {

struct Shape {
  int channels = 0;
  int height = 0;
  int width = 0;
};

std::string ShapeText(const cv::Mat& m) {
  std::string s;
  for (int i = 0; i < m.dims; ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(m.size[i]);
  }
  return s;
}

Result<Shape> OutputShape(const cv::Mat& m) {
  Shape s;
  if (m.dims == 4 && m.size[0] == 1) {
    s = {m.size[1], m.size[2], m.size[3]};
  } else if (m.dims == 3 && m.size[0] == 1) {
    s = {1, m.size[1], m.size[2]};
  } else if (m.dims == 2 && m.channels() == 1) {
    s = {1, m.rows, m.cols};
  } else {
    return Status::InvalidArgument("model output has shape " + ShapeText(m) +
                                   "; want 1xCxHxW, 1xHxW or HxW");
  }
  if (s.channels < 1 || s.height < 1 || s.width < 1) {
    return Status::InvalidArgument("model output has an empty shape " + ShapeText(m));
  }
  return s;
}

// Channel c of a continuous CxHxW float block, as an HxW view.
cv::Mat Plane(const cv::Mat& block, const Shape& s, int c) {
  return cv::Mat(s.height, s.width, CV_32F,
                 const_cast<float*>(block.ptr<float>()) +  // NOLINT: read-only use
                     static_cast<size_t>(c) * s.height * s.width);
}

bool IsForeground(const std::vector<int>& classes, int c) {
  return std::find(classes.begin(), classes.end(), c) != classes.end();
}

cv::Mat Saliency(const cv::Mat& plane, const ModelManifest::Output& spec) {
  cv::Mat m = plane.clone();
  if (spec.sigmoid) {
    cv::exp(-m, m);
    m = 1.0 / (1.0 + m);
  }
  if (spec.minmax) {
    double lo = 0;
    double hi = 0;
    cv::minMaxLoc(m, &lo, &hi);
    if (hi > lo) {
      m = (m - lo) / (hi - lo);
    } else {
      m.setTo(0);
    }
  }
  return cv::min(cv::max(m, 0.0), 1.0);
}

cv::Mat Softmax(const cv::Mat& block, const Shape& s, const std::vector<int>& classes) {
  cv::Mat peak = Plane(block, s, 0).clone();
  for (int c = 1; c < s.channels; ++c) peak = cv::max(peak, Plane(block, s, c));
  cv::Mat total = cv::Mat::zeros(s.height, s.width, CV_32F);
  cv::Mat fg = cv::Mat::zeros(s.height, s.width, CV_32F);
  cv::Mat e;
  for (int c = 0; c < s.channels; ++c) {
    cv::exp(Plane(block, s, c) - peak, e);  // <= 1: no overflow
    total += e;
    if (IsForeground(classes, c)) fg += e;
  }
  return fg / total;  // total >= 1 (the peak class contributes exp(0))
}

cv::Mat Argmax(const cv::Mat& block, const Shape& s, const std::vector<int>& classes) {
  cv::Mat mask(s.height, s.width, CV_32F);
  const size_t plane = static_cast<size_t>(s.height) * s.width;
  const float* data = block.ptr<float>();
  float* out = mask.ptr<float>();
  for (size_t i = 0; i < plane; ++i) {
    int best = 0;
    if (s.channels == 1) {
      const float v = data[i];
      best = std::isfinite(v) ? static_cast<int>(std::lround(std::clamp(v, -1.0f, 65536.0f))) : -1;
    } else {
      for (int c = 1; c < s.channels; ++c) {
        if (data[c * plane + i] > data[best * plane + i]) best = c;
      }
    }
    out[i] = IsForeground(classes, best) ? 1.0f : 0.0f;
  }
  return mask;
}

}  // namespace

cv::Mat MakeInputBlob(const Image& image, const ModelManifest::Input& input, int size) {
  cv::Mat rgb = image.pixels;
  if (rgb.channels() == 4) cv::cvtColor(image.pixels, rgb, cv::COLOR_RGBA2RGB);
  const bool shrink = rgb.cols > size && rgb.rows > size;
  cv::Mat resized;
  cv::resize(rgb, resized, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::vector<cv::Mat> channels;
  cv::split(resized, channels);  // R, G, B
  if (!input.rgb) std::swap(channels[0], channels[2]);
  const int dims[4] = {1, 3, size, size};
  cv::Mat blob(4, dims, CV_32F);
  for (int c = 0; c < 3; ++c) {
    cv::Mat plane(size, size, CV_32F, blob.ptr<float>(0, c));
    channels[c].convertTo(plane, CV_32F, input.scale / input.std[c], -input.mean[c] / input.std[c]);
  }
  return blob;
}

Result<cv::Mat> OutputToMask(const cv::Mat& output, const ModelManifest::Output& spec) {
  SPARKIFY_ASSIGN_OR_RETURN(const Shape s, OutputShape(output));
  cv::Mat block = output;
  if (block.depth() != CV_32F) output.convertTo(block, CV_32F);
  if (!block.isContinuous()) block = block.clone();
  switch (spec.kind) {
    case ModelManifest::OutputKind::kSaliency:
      if (s.channels != 1) {
        return Status::InvalidArgument("saliency output has " + std::to_string(s.channels) +
                                       " channels; want 1");
      }
      return Saliency(Plane(block, s, 0), spec);
    case ModelManifest::OutputKind::kSoftmax:
      if (s.channels < 2 || (spec.num_classes > 0 && s.channels != spec.num_classes)) {
        return Status::InvalidArgument(
            "softmax output has " + std::to_string(s.channels) + " channels; want " +
            (spec.num_classes > 0 ? std::to_string(spec.num_classes) : std::string("2 or more")));
      }
      return Softmax(block, s, spec.foreground_classes);
    case ModelManifest::OutputKind::kArgmax:
      return Argmax(block, s, spec.foreground_classes);
  }
  return Status::Internal("unknown output kind");
}

Mask MaskToImageSize(const cv::Mat& model_mask, int width, int height) {
  Mask mask;
  if (model_mask.cols == width && model_mask.rows == height) {
    mask.alpha = model_mask.clone();
  } else {
    cv::resize(model_mask, mask.alpha, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  }
  mask.alpha = cv::min(cv::max(mask.alpha, 0.0), 1.0);
  return mask;
}

}  // namespace sparkify::vision::internal
