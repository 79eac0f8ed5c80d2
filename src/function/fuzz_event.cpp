// libFuzzer target: Lambda events (any bytes) -> ParseEvent, then the URL checks the fetcher
// would make on every URL it accepted, and the 400 answer. Nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fetch/url.h"
#include "function/event.h"
#include "function/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  sparkify::function::ParsedEvent e = sparkify::function::ParseEvent(payload);
  if (!e.status.ok()) {
    (void)sparkify::function::RenderRefusal(e.form, 400, "InvalidRequest", e.status.message());
    return 0;
  }
  for (const auto& in : e.request.inputs) {
    if (in.is_url()) (void)sparkify::fetch::ParseFetchUrl(in.value);
  }
  return 0;
}
