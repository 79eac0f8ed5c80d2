// libFuzzer target: DecodeImage on arbitrary bytes with small limits (1 MiB input, 1 MP,
// 2048 px sides), so a header that passes cannot make the codecs allocate much. An accepted
// image must be 8-bit RGB/RGBA, continuous, and within the limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vision/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sparkify::vision::DecodeLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_pixels = 1 << 20;
  limits.max_side = 2048;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  sparkify::Result<sparkify::vision::Image> im = sparkify::vision::DecodeImage(bytes, limits);
  if (!im.ok()) {
    if (im.status().message().empty()) __builtin_trap();
    return 0;
  }
  const cv::Mat& p = im->pixels;
  if (p.type() != CV_8UC3 && p.type() != CV_8UC4) __builtin_trap();
  if (!p.isContinuous() || p.empty()) __builtin_trap();
  if (static_cast<uint64_t>(p.cols) * p.rows > limits.max_pixels) __builtin_trap();
  if (p.cols > 2048 || p.rows > 2048) __builtin_trap();
  return 0;
}
