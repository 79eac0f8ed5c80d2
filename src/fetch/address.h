// IP addresses and the fetcher's address policy: which destinations an image URL may reach.
//
// Refused unless private fetches are allowed: unspecified (0.0.0.0/8, ::), loopback
// (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7, and the
// deprecated site-local fec0::/10), link-local (169.254/16, which holds the cloud metadata
// address 169.254.169.254, and fe80::/10), multicast (224/4, ff00::/8), reserved and broadcast
// (240/4), and the IETF/benchmark blocks 192.0.0/24 and 198.18/15. IPv6 forms that embed an
// IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96 and
// 6to4 2002::/16) are judged by that IPv4 address.
//
// Pure values and functions; thread-safe.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sparkify::fetch {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  // "192.0.2.1" / "2001:db8::1" (no brackets). nullopt for anything else.
  static std::optional<IpAddress> Parse(std::string_view text);
  // From a sockaddr_in / sockaddr_in6; nullopt for other families.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* addr);
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Why `addr` may not be fetched from ("loopback address 127.0.0.1", "link-local address
// 169.254.169.254 (cloud metadata)"), or nullopt when it is a public unicast address.
std::optional<std::string> ForbiddenReason(const IpAddress& addr);

}  // namespace sparkify::fetch
