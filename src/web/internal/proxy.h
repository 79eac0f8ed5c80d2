// Internal: requests that reach the web app through a load balancer or reverse proxy (an AWS
// ALB, nginx). The TCP peer is then the proxy, so the client's address (which per-client
// budgets count) and the scheme it used (Secure cookies, share links) come from the headers
// the proxy adds, but only when the peer is one of the proxies the operator named: anyone
// else could write those headers.
//
// One proxy hop is trusted: the client is the LAST X-Forwarded-For entry (the one the proxy
// appended, as an ALB does in its default "append" mode; entries before it are whatever the
// client sent) and the scheme the last X-Forwarded-Proto value. The entry may carry a port
// ("203.0.113.9:52000", "[2001:db8::5]:443"); it is kept in canonical form, without it. A last
// entry that is not an IP address leaves the peer's address (and is logged, at most once a
// minute: the proxy is then not appending).
// Thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "fetch/address.h"
#include "http/http.h"

namespace sparkify::web::internal {

struct IpNetwork {
  fetch::IpAddress base;  // IPv4-mapped IPv6 is stored as IPv4
  int prefix = 0;         // bits, >= 1
};

// "10.0.0.0/8,172.16.0.0/12, fd00::/8" (spaces allowed; a bare address is one host).
// InvalidArgument naming the first entry that is not an address or CIDR block, or that is a
// /0 (every address on the internet would then be believed).
Result<std::vector<IpNetwork>> ParseNetworks(std::string_view list);
// Whether `address` ("10.1.2.3", "::ffff:10.1.2.3", "fd00::1") is in one of `networks`.
bool InNetworks(const std::vector<IpNetwork>& networks, std::string_view address);

// When req->remote_ip is in `proxies`: sets remote_ip to the client's address and `secure`
// from the forwarded scheme, as above. Otherwise leaves the request as it is.
void ApplyForwarded(const std::vector<IpNetwork>& proxies, http::Request* req);

}  // namespace sparkify::web::internal
