// DecodeImage: header checks (format, limits, truncation), then OpenCV's imdecode with
// IMREAD_UNCHANGED for JPEG and PNG (which keeps alpha and 16-bit samples but, in OpenCV 4.6,
// does not apply the EXIF orientation: we do that from the orientation our parser read), and
// libwebp for WebP.
#include "vision/image.h"

#include <climits>
#include <string>

#include <webp/decode.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/image_header.h"

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

// Any depth/channel layout imdecode gives for our formats -> 8-bit RGB or RGBA.
Result<cv::Mat> ToRgb8(cv::Mat m) {
  if (m.depth() == CV_16U) {
    cv::Mat eight;
    m.convertTo(eight, CV_8U, 1.0 / 257.0);
    m = eight;
  } else if (m.depth() != CV_8U) {
    return Status::InvalidArgument("decoded image has an unsupported sample type");
  }
  cv::Mat out;
  switch (m.channels()) {
    case 1:
      cv::cvtColor(m, out, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(m, out, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(m, out, cv::COLOR_BGRA2RGBA);
      break;
    default:
      return Status::InvalidArgument("decoded image has " + std::to_string(m.channels()) +
                                     " channels");
  }
  return out;
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

// JPEG and PNG through cv::imdecode. It picks its decoder by sniffing, not by our header;
// the JPEG and PNG signatures our parser requires are claimed before any other decoder, so no
// other codec (OpenCV also has TIFF, JPEG 2000, DICOM, GDAL, EXR...) ever sees the bytes.
Result<cv::Mat> DecodeWithOpenCv(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("image is over 2 GiB");
  }
  // imdecode only reads the buffer; the Mat header is a view, nothing is copied.
  const cv::Mat raw(
      1, static_cast<int>(bytes.size()), CV_8U,
      const_cast<char*>(bytes.data()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  return cv::imdecode(raw, cv::IMREAD_UNCHANGED);
}

// WebP straight through libwebp, into BGR(A) like imdecode. Not through imdecode: OpenCV's WebP
// decoder claims only bytes whose first 32 libwebp accepts; any other RIFF/WEBP file goes on
// to the next decoders, and fuzz_decode found that GDCM (DICOM: "DICM" at byte 128) then
// aborts the process, and that GDAL ("DTED" at byte 140) gets the bytes through a temp file.
Result<cv::Mat> DecodeWebp(std::string_view bytes, const ImageHeader& h) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures f;
  if (WebPGetFeatures(data, bytes.size(), &f) != VP8_STATUS_OK) return cv::Mat();
  if (f.has_animation) return Status::InvalidArgument("animated WebP is not supported");
  if (f.width != static_cast<int>(h.width) || f.height != static_cast<int>(h.height)) {
    return Status::InvalidArgument("WebP bitstream is " + SizeText(f.width, f.height) +
                                   " px, not the header's " + SizeText(h.width, h.height));
  }
  cv::Mat out(f.height, f.width, f.has_alpha ? CV_8UC4 : CV_8UC3);
  const size_t size = out.step[0] * out.rows;
  const uint8_t* done = f.has_alpha
                            ? WebPDecodeBGRAInto(data, bytes.size(), out.data, size, out.step[0])
                            : WebPDecodeBGRInto(data, bytes.size(), out.data, size, out.step[0]);
  return done != nullptr ? out : cv::Mat();
}

Result<Image> Decode(std::string_view bytes, const ImageHeader& h) {
  SPARKIFY_ASSIGN_OR_RETURN(const cv::Mat decoded, h.format == ImageFormat::kWebp
                                                       ? DecodeWebp(bytes, h)
                                                       : DecodeWithOpenCv(bytes));
  const std::string what = std::string(FormatName(h.format)) + " image";
  if (decoded.empty()) {
    return Status::InvalidArgument(what + " could not be decoded (corrupt or truncated data)");
  }
  if (decoded.cols != static_cast<int>(h.width) || decoded.rows != static_cast<int>(h.height)) {
    return Status::InvalidArgument(what + " decoded to " + SizeText(decoded.cols, decoded.rows) +
                                   " px, not the header's " + SizeText(h.width, h.height));
  }
  SPARKIFY_ASSIGN_OR_RETURN(cv::Mat rgb, ToRgb8(decoded));
  Image image;
  image.pixels = Orient(rgb, h.orientation);
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
    return Decode(bytes, header);
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(std::string(FormatName(header.format)) +
                                   " image could not be decoded: " + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decoding the image");
  }
}

}  // namespace sparkify::vision
