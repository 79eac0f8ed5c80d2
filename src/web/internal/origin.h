// Internal: the guards against other web sites driving the API from a user's browser.
//  - Cross-site requests (CSRF): a POST whose Origin header is present must come from the
//    server's own origin (http:// or https:// plus the request's Host).
//  - DNS rebinding: a server listening on loopback answers only Host names that are loopback
//    (localhost, *.localhost, 127.x.y.z, [::1]) or listed in `allowed_hosts` (the host of the
//    Spotify redirect URI, say). A request without a Host header (HTTP/1.0) passes.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "web/internal/jobs.h"

namespace sparkify::web::internal {

struct OriginPolicy {
  bool loopback_only = true;               // the server listens on a loopback address
  std::vector<std::string> allowed_hosts;  // lower-case host names, without port
};

// True for an address the server may listen on that only this machine reaches.
bool IsLoopbackAddress(std::string_view host);
// "Example.COM:8080" -> "example.com"; "[::1]:80" -> "[::1]".
std::string HostName(std::string_view host_header);

// nullopt when the request may go on; else the error (code "forbidden_host" or
// "forbidden_origin"; the status is 403).
std::optional<ApiError> CheckOrigin(const OriginPolicy& policy, std::string_view method,
                                    std::optional<std::string_view> host,
                                    std::optional<std::string_view> origin);

}  // namespace sparkify::web::internal
