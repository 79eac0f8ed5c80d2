#include "web/internal/origin.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace sparkify::web::internal {
namespace {

bool IsIpv4Loopback(std::string_view h) {
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

bool IsLoopbackAddress(std::string_view host) {
  std::string h = AsciiLowerString(host);
  return h == "localhost" || h == "::1" || h == "[::1]" || IsIpv4Loopback(h);
}

std::string HostName(std::string_view host_header) {
  std::string h = AsciiLowerString(host_header);
  if (h.starts_with('[')) {
    size_t close = h.find(']');
    return close == std::string::npos ? h : h.substr(0, close + 1);
  }
  size_t colon = h.find(':');
  if (colon != std::string::npos) h.resize(colon);
  while (!h.empty() && h.back() == '.') h.pop_back();  // "localhost." is "localhost"
  return h;
}

std::optional<ApiError> CheckOrigin(const OriginPolicy& policy, std::string_view method,
                                    std::optional<std::string_view> host,
                                    std::optional<std::string_view> origin) {
  if (policy.loopback_only && host) {
    std::string name = HostName(*host);
    bool allowed = IsLoopbackAddress(name) || name.ends_with(".localhost") ||
                   std::find(policy.allowed_hosts.begin(), policy.allowed_hosts.end(), name) !=
                       policy.allowed_hosts.end();
    if (!allowed) {
      return ApiError{"forbidden_host", "This server answers only to localhost (Host header: " +
                                            std::string(name.substr(0, 100)) + ")."};
    }
  }
  if (method == "GET" || method == "HEAD" || !origin) return std::nullopt;
  std::string o = AsciiLowerString(*origin);
  std::string self = AsciiLowerString(host.value_or(""));
  if (!self.empty() && (o == "http://" + self || o == "https://" + self)) return std::nullopt;
  return ApiError{"forbidden_origin", "Requests from other web sites are refused."};
}

}  // namespace sparkify::web::internal
