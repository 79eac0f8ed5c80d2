// Internal: requests that reach the web app through a load balancer or reverse proxy (an AWS
// ALB, nginx). The TCP peer is then the proxy, so the client's address (which per-client
// budgets count) and the scheme it used (Secure cookies, share links) come from the headers
// the proxy adds, but only when the peer is one of the proxies the operator named: anyone
// else could write those headers.
//
// One proxy hop is trusted: the client is the LAST X-Forwarded-For entry (the one the proxy
// appended; entries before it are whatever the client sent) and the scheme the last
// X-Forwarded-Proto value. A last entry that is not an IP address leaves the peer's address.
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/http.h"

namespace sparkify::web::internal {

struct IpNetwork {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;  // bits
};

// "10.0.0.0/8,172.16.0.0/12, fd00::/8" (spaces allowed; a bare address is one host).
// InvalidArgument naming the first entry that is not an address or CIDR block.
Result<std::vector<IpNetwork>> ParseNetworks(std::string_view list);
// Whether `address` ("10.1.2.3", "::ffff:10.1.2.3", "fd00::1") is in one of `networks`.
bool InNetworks(const std::vector<IpNetwork>& networks, std::string_view address);

// When req->remote_ip is in `proxies`: sets remote_ip to the client's address and `secure`
// from the forwarded scheme, as above. Otherwise leaves the request as it is.
void ApplyForwarded(const std::vector<IpNetwork>& proxies, http::Request* req);

}  // namespace sparkify::web::internal
