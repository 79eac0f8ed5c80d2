// libFuzzer target: ParseImageHeader and ExifOrientation on arbitrary bytes. Checks that they
// never read out of bounds (ASan) and that an accepted header is sane.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vision/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  sparkify::Result<sparkify::vision::ImageHeader> h = sparkify::vision::ParseImageHeader(bytes);
  if (h.ok()) {
    if (h->width == 0 || h->height == 0) __builtin_trap();
    if (h->orientation < 1 || h->orientation > 8) __builtin_trap();
  } else if (h.status().message().empty()) {
    __builtin_trap();
  }
  const int o = sparkify::vision::ExifOrientation(bytes);
  if (o < 1 || o > 8) __builtin_trap();
  return 0;
}
