#include "http/http.h"

namespace sparkify::http {

std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

Result<std::string> Request::ReadAll(size_t max_bytes) {
  std::string out;
  if (content_length) {
    if (*content_length > max_bytes) {
      return Status::ResourceExhausted("request body of " + std::to_string(*content_length) +
                                       " bytes is over the limit of " +
                                       std::to_string(max_bytes));
    }
    out.reserve(static_cast<size_t>(*content_length));
  }
  char buf[64 * 1024];
  for (;;) {
    auto n = body->Read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (out.size() + *n > max_bytes) {
      return Status::ResourceExhausted("request body is over the limit of " +
                                       std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, *n);
  }
  return out;
}

}  // namespace sparkify::http
