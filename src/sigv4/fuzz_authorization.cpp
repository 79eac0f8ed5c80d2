// libFuzzer target: Verify on a request whose first line is the Authorization header value,
// second line the raw path, and every further line a "name:value" header.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sigv4/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkify::sigv4;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto next_line = [&input]() {
    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    return line;
  };
  Headers headers;
  headers.emplace_back("Authorization", std::string(next_line()));
  std::string_view target = next_line();
  while (!input.empty()) {
    std::string_view line = next_line();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  size_t q = target.find('?');
  IncomingRequest req;
  req.method = "PUT";
  req.raw_path = target.substr(0, q);
  req.raw_query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  req.headers = &headers;
  fuzz::CheckOutcome(Verify(req, fuzz::Keys(), fuzz::Options()),
                     std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
