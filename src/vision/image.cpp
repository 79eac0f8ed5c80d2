// DecodeImage: header checks (format, limits, truncation), then the format's own library
// (internal/codecs.h: libjpeg-turbo, libpng, libwebp), then the EXIF orientation our header
// parser read.
#include "vision/image.h"

#include <algorithm>
#include <string>

#include <opencv2/core.hpp>

#include "vision/image_header.h"
#include "vision/internal/codecs.h"

namespace sparkify::vision {
namespace {

std::string SizeText(uint64_t width, uint64_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

Status CheckLimits(const ImageHeader& h, size_t input_size, const DecodeLimits& limits) {
  const std::string what =
      std::string(FormatName(h.format)) + " image of " + SizeText(h.width, h.height) + " px";
  if (h.width > limits.max_side || h.height > limits.max_side) {
    return Status::InvalidArgument(what + ": a side is over the limit of " +
                                   std::to_string(limits.max_side) + " px");
  }
  const uint64_t pixels = static_cast<uint64_t>(h.width) * h.height;
  if (pixels > limits.max_pixels) {
    return Status::InvalidArgument(what + " (" + std::to_string(pixels) +
                                   " pixels) is over the limit of " +
                                   std::to_string(limits.max_pixels) + " pixels");
  }
  const uint64_t sample_bytes = pixels * static_cast<uint64_t>(std::max(h.channels, 1)) *
                                static_cast<uint64_t>((std::max(h.bits_per_sample, 1) + 7) / 8);
  if (sample_bytes > limits.max_sample_bytes) {
    return Status::InvalidArgument(what + " of " + std::to_string(h.channels) + " x " +
                                   std::to_string(h.bits_per_sample) + "-bit samples (" +
                                   std::to_string(sample_bytes) +
                                   " bytes to decode) is over the limit of " +
                                   std::to_string(limits.max_sample_bytes) + " bytes");
  }
  if (h.format == ImageFormat::kJpeg && h.jpeg_scans > limits.max_jpeg_scans) {
    return Status::InvalidArgument(what + " has " + std::to_string(h.jpeg_scans) +
                                   " scans, over the limit of " +
                                   std::to_string(limits.max_jpeg_scans));
  }
  if (h.format == ImageFormat::kJpeg && h.truncated) {
    return Status::InvalidArgument(what + " is truncated: " + std::to_string(input_size) +
                                   " bytes end without an end-of-image marker after the scan "
                                   "data");
  }
  return Status::OK();
}

// EXIF orientation 2..8 -> the upright image (1 and anything else: unchanged).
cv::Mat Orient(const cv::Mat& m, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(m, out, 1);
      return out;  // mirror
    case 3:
      cv::rotate(m, out, cv::ROTATE_180);
      return out;
    case 4:
      cv::flip(m, out, 0);
      return out;  // mirror vertical
    case 5:
      cv::transpose(m, out);
      return out;
    case 6:
      cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(m, out);
      cv::rotate(out, out, cv::ROTATE_180);
      return out;
    case 8:
      cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return m;
  }
}

// The largest of 1, 2, 4, 8 that keeps the longer side at least `reduce_to` (0: 1).
int JpegScaleDenominator(const ImageHeader& h, uint32_t reduce_to) {
  if (reduce_to == 0) return 1;
  const uint32_t longer = std::max(h.width, h.height);
  int denom = 1;
  while (denom < 8 && (longer + 2 * denom - 1) / (2 * denom) >= reduce_to) denom *= 2;
  return denom;
}

Result<Image> Decode(std::string_view bytes, const ImageHeader& h, const DecodeLimits& limits) {
  const int denom = JpegScaleDenominator(h, limits.reduce_to);
  Result<cv::Mat> decoded = h.format == ImageFormat::kJpeg  ? internal::DecodeJpeg(bytes, h, denom)
                            : h.format == ImageFormat::kPng ? internal::DecodePng(bytes, h)
                                                            : internal::DecodeWebp(bytes, h);
  if (!decoded.ok()) return decoded.status();
  Image image;
  image.pixels = Orient(*decoded, h.orientation);
  if (!image.pixels.isContinuous()) image.pixels = image.pixels.clone();
  return image;
}

}  // namespace

Result<Image> DecodeImage(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Status::InvalidArgument("image is empty (0 bytes)");
  if (bytes.size() > limits.max_bytes) {
    return Status::InvalidArgument("image is " + std::to_string(bytes.size()) +
                                   " bytes, over the limit of " + std::to_string(limits.max_bytes));
  }
  SPARKIFY_ASSIGN_OR_RETURN(const ImageHeader header, ParseImageHeader(bytes));
  SPARKIFY_RETURN_IF_ERROR(CheckLimits(header, bytes.size(), limits));
  try {
    return Decode(bytes, header, limits);
  } catch (const cv::Exception& e) {  // orienting: only allocation can fail
    return Status::ResourceExhausted(std::string(FormatName(header.format)) +
                                     " image could not be oriented: " + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decoding the image");
  }
}

}  // namespace sparkify::vision
