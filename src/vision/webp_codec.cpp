// WebP through libwebp's simple decoding API, straight into RGB(A) rows.
#include <webp/decode.h>

#include <new>
#include <opencv2/core.hpp>
#include <string>

#include "vision/internal/codecs.h"

namespace sparkify::vision::internal {

Result<cv::Mat> DecodeWebp(std::string_view bytes, const ImageHeader& header) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures f;
  if (WebPGetFeatures(data, bytes.size(), &f) != VP8_STATUS_OK) {
    return Status::InvalidArgument("WebP image could not be decoded (corrupt or truncated data)");
  }
  if (f.has_animation) return Status::InvalidArgument("animated WebP is not supported");
  if (f.width != static_cast<int>(header.width) || f.height != static_cast<int>(header.height)) {
    return Status::InvalidArgument("WebP bitstream is " + std::to_string(f.width) + "x" +
                                   std::to_string(f.height) + " px, not the header's " +
                                   std::to_string(header.width) + "x" +
                                   std::to_string(header.height));
  }
  try {
    cv::Mat out(f.height, f.width, f.has_alpha ? CV_8UC4 : CV_8UC3);
    const size_t size = out.step[0] * out.rows;
    const uint8_t* done = f.has_alpha
                              ? WebPDecodeRGBAInto(data, bytes.size(), out.data, size, out.step[0])
                              : WebPDecodeRGBInto(data, bytes.size(), out.data, size, out.step[0]);
    if (done == nullptr) {
      return Status::InvalidArgument("WebP image could not be decoded (corrupt or truncated data)");
    }
    return out;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decoding the WebP image");
  } catch (const cv::Exception& e) {
    return Status::ResourceExhausted(std::string("decoding the WebP image: ") + e.what());
  }
}

}  // namespace sparkify::vision::internal
