#include "http/http.h"

namespace sparkify::http {

bool IsValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsValidFieldValue(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

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
                                       " bytes is over the limit of " + std::to_string(max_bytes));
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
