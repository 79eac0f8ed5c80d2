#include "fetch/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace sparkify::fetch {
namespace {

bool InV4(const uint8_t* a, uint32_t net, int prefix) {
  uint32_t v = (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (v & mask) == (net & mask);
}

constexpr uint32_t V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::optional<std::string> V4Reason(const uint8_t* a) {
  struct Block {
    uint32_t net;
    int prefix;
    const char* what;
  };
  static constexpr Block kBlocks[] = {
      {V4(0, 0, 0, 0), 8, "unspecified"},
      {V4(127, 0, 0, 0), 8, "loopback"},
      {V4(10, 0, 0, 0), 8, "private"},
      {V4(172, 16, 0, 0), 12, "private"},
      {V4(192, 168, 0, 0), 16, "private"},
      {V4(100, 64, 0, 0), 10, "shared (carrier-grade NAT)"},
      {V4(169, 254, 0, 0), 16, "link-local"},
      {V4(192, 0, 0, 0), 24, "IETF protocol"},
      {V4(198, 18, 0, 0), 15, "benchmarking"},
      {V4(224, 0, 0, 0), 4, "multicast"},
      {V4(240, 0, 0, 0), 4, "reserved"},
  };
  for (const Block& b : kBlocks) {
    if (InV4(a, b.net, b.prefix)) {
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, a, text, sizeof text);
      std::string reason = std::string(b.what) + " address " + text;
      if (InV4(a, V4(169, 254, 169, 254), 32)) reason += " (cloud metadata)";
      return reason;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* addr) {
  if (addr == nullptr) return std::nullopt;
  IpAddress a;
  if (addr->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    std::memcpy(a.bytes.data(), &in.sin_addr, 4);
    return a;
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, sizeof in6);
    a.v6 = true;
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

std::optional<std::string> ForbiddenReason(const IpAddress& addr) {
  if (!addr.v6) return V4Reason(addr.bytes.data());
  const uint8_t* b = addr.bytes.data();
  auto zero = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  };
  const std::string text = addr.ToString();
  // Forms embedding an IPv4 address are judged by it.
  auto embedded = [&](const uint8_t* v4, const char* form) -> std::optional<std::string> {
    if (auto r = V4Reason(v4)) return *r + " (as " + form + " " + text + ")";
    return std::nullopt;
  };
  if (zero(0, 16)) return "unspecified address " + text;
  if (zero(0, 15) && b[15] == 1) return "loopback address " + text;
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return embedded(b + 12, "IPv4-mapped");
  if (zero(0, 12)) return embedded(b + 12, "IPv4-compatible");
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12)) {
    return embedded(b + 12, "NAT64");
  }
  if (b[0] == 0x20 && b[1] == 0x02) return embedded(b + 2, "6to4");
  if ((b[0] & 0xfe) == 0xfc) return "private (unique local) address " + text;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local address " + text;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local address " + text;
  if (b[0] == 0xff) return "multicast address " + text;
  return std::nullopt;
}

}  // namespace sparkify::fetch
