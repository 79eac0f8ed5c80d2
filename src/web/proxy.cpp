#include "web/internal/proxy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <string>

#include "common/strings.h"

namespace sparkify::web::internal {
namespace {

// An address as 16 bytes (IPv4 in the first 4, IPv4-mapped IPv6 made IPv4).
std::optional<IpNetwork> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  IpNetwork a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.prefix = 32;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, a.bytes.begin())) {
    std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
    std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
    a.prefix = 32;
    return a;
  }
  a.v6 = true;
  a.prefix = 128;
  return a;
}

bool Contains(const IpNetwork& net, const IpNetwork& address) {
  if (net.v6 != address.v6) return false;
  for (int bit = 0; bit < net.prefix; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((net.bytes[bit / 8] & mask) != (address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// The last comma-separated value of every instance of header `name`, trimmed.
std::optional<std::string_view> LastValue(const http::Request& req, std::string_view name) {
  std::optional<std::string_view> last;
  for (const auto& [header, value] : req.headers) {
    if (header != name) continue;
    std::string_view v = value;
    const size_t comma = v.rfind(',');
    if (comma != std::string_view::npos) v.remove_prefix(comma + 1);
    last = TrimAsciiWhitespace(v);
  }
  return last;
}

}  // namespace

Result<std::vector<IpNetwork>> ParseNetworks(std::string_view list) {
  std::vector<IpNetwork> out;
  for (std::string_view rest = list; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view entry = TrimAsciiWhitespace(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (entry.empty()) continue;
    const size_t slash = entry.find('/');
    auto net = ParseAddress(entry.substr(0, slash));
    bool ok = net.has_value();
    if (ok && slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      int prefix = 0;
      ok = !digits.empty() && digits.size() <= 3 &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (ok) {
        for (char c : digits) prefix = prefix * 10 + (c - '0');
        ok = prefix <= net->prefix;
        net->prefix = prefix;
      }
    }
    if (!ok) {
      return Status::InvalidArgument("trusted proxies: \"" + std::string(entry.substr(0, 60)) +
                                     "\" is not an IP address or CIDR block");
    }
    out.push_back(*net);
  }
  return out;
}

bool InNetworks(const std::vector<IpNetwork>& networks, std::string_view address) {
  auto a = ParseAddress(address);
  if (!a) return false;
  return std::any_of(networks.begin(), networks.end(),
                     [&](const IpNetwork& net) { return Contains(net, *a); });
}

void ApplyForwarded(const std::vector<IpNetwork>& proxies, http::Request* req) {
  if (proxies.empty() || !InNetworks(proxies, req->remote_ip)) return;
  if (auto client = LastValue(*req, "x-forwarded-for"); client && ParseAddress(*client)) {
    req->remote_ip = std::string(*client);
  }
  if (auto proto = LastValue(*req, "x-forwarded-proto")) {
    const std::string scheme = AsciiLowerString(*proto);
    if (scheme == "https") req->secure = true;
    if (scheme == "http") req->secure = false;
  }
}

}  // namespace sparkify::web::internal
