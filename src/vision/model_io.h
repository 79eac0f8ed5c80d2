// Internal to sparkify_vision: the pure tensor steps around a segmentation model's forward
// pass, kept apart from cv::dnn so they can be tested on synthetic tensors.
// Thread-safe (no shared state). May throw cv::Exception (callers catch it).
#pragma once

#include <opencv2/core/mat.hpp>

#include "common/status.h"
#include "vision/image.h"
#include "vision/manifest.h"

namespace sparkify::vision::internal {

// The 1x3xSxS float32 NCHW blob for `image` (RGB or RGBA; alpha is ignored): stretched to
// size x size (INTER_AREA when shrinking both sides, else INTER_LINEAR), put in the model's
// channel order, each value (pixel * scale - mean[c]) / std[c].
cv::Mat MakeInputBlob(const Image& image, const ModelManifest::Input& input, int size);

// The model's raw output -> a soft mask at the model's resolution (CV_32FC1, values in 0..1),
// as the manifest's output kind says (tools/model/README.md):
//   saliency: 1x1xHxW (or 1xHxW, HxW); sigmoid if asked; min/max normalised if asked (a
//             constant map becomes all 0), else clamped to 0..1.
//   softmax:  1xCxHxW; sum over foreground_classes of the softmax over C.
//   argmax:   1xCxHxW (argmax over C) or 1x1xHxW / 1xHxW of class indices; 1 where the class
//             is a foreground class, else 0.
// InvalidArgument when the output's shape does not fit the kind (e.g. C != num_classes).
Result<cv::Mat> OutputToMask(const cv::Mat& output, const ModelManifest::Output& spec);

// A model-resolution mask stretched back over the whole image (INTER_LINEAR), clamped to 0..1.
Mask MaskToImageSize(const cv::Mat& model_mask, int width, int height);

}  // namespace sparkify::vision::internal
