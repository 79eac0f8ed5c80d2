// libFuzzer target: Verify on GET /bucket/key with an arbitrary raw query (presigned URLs,
// SigV2 query auth, anything else).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sigv4/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkify::sigv4;
  static const Headers headers = {{"Host", "bucket.s3.amazonaws.com"}};
  IncomingRequest req;
  req.method = "GET";
  req.raw_path = "/my%20key.txt";
  req.raw_query = std::string_view(reinterpret_cast<const char*>(data), size);
  req.headers = &headers;
  fuzz::CheckOutcome(Verify(req, fuzz::Keys(), fuzz::Options()),
                     std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
