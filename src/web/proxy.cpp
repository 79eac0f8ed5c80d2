#include "web/internal/proxy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "common/strings.h"

namespace sparkify::web::internal {
namespace {

// An address, IPv4-mapped IPv6 made IPv4 (a dual-stack socket reports IPv4 peers so).
std::optional<fetch::IpAddress> Address(std::string_view text) {
  auto a = fetch::IpAddress::Parse(text);
  if (!a || !a->v6) return a;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::equal(kMapped, kMapped + 12, a->bytes.begin())) return a;
  fetch::IpAddress v4;
  std::copy(a->bytes.begin() + 12, a->bytes.end(), v4.bytes.begin());
  return v4;
}

bool Contains(const IpNetwork& net, const fetch::IpAddress& address) {
  if (net.base.v6 != address.v6) return false;
  for (int bit = 0; bit < net.prefix; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((net.base.bytes[bit / 8] & mask) != (address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// An X-Forwarded-For entry: "a.b.c.d", "a.b.c.d:port", "v6", "[v6]" or "[v6]:port".
std::optional<fetch::IpAddress> ForwardedAddress(std::string_view entry) {
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty() &&
        (rest.front() != ':' || rest.size() == 1 || rest.size() > 6 ||
         !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
      return std::nullopt;
    }
    return Address(entry.substr(1, close - 1));
  }
  if (auto a = Address(entry)) return a;
  const size_t colon = entry.find(':');
  if (colon == std::string_view::npos || entry.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;  // not a port: IPv6 without brackets was tried above
  }
  std::string_view port = entry.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto a = Address(entry.substr(0, colon));
  if (!a || a->v6) return std::nullopt;
  return a;
}

// The last comma-separated value of the last instance of header `name`, trimmed.
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

void WarnUnusable(std::string_view peer, std::string_view entry) {
  static std::atomic<int64_t> last_warning{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t before = last_warning.load();
  if (now - before < 60 || !last_warning.compare_exchange_strong(before, now)) return;
  spdlog::warn(
      "web: trusted proxy {} sent an X-Forwarded-For whose last entry is not an address "
      "(\"{}\"): the proxy must append the client's address; counting the proxy as the client",
      peer, entry.substr(0, 60));
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
    auto address = Address(entry.substr(0, slash));
    IpNetwork net;
    bool ok = address.has_value();
    if (ok) {
      net.base = *address;
      net.prefix = address->v6 ? 128 : 32;
    }
    if (ok && slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      ok = !digits.empty() && digits.size() <= 3 &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      int prefix = 0;
      if (ok) {
        for (char c : digits) prefix = prefix * 10 + (c - '0');
        ok = prefix <= net.prefix;
        net.prefix = prefix;
      }
    }
    if (!ok || net.prefix == 0) {
      return Status::InvalidArgument(
          "trusted proxies: \"" + std::string(entry.substr(0, 60)) +
          (ok ? "\" would believe any address; name the proxies' own networks"
              : "\" is not an IP address or CIDR block"));
    }
    out.push_back(net);
  }
  return out;
}

bool InNetworks(const std::vector<IpNetwork>& networks, std::string_view address) {
  auto a = Address(address);
  if (!a) return false;
  return std::any_of(networks.begin(), networks.end(),
                     [&](const IpNetwork& net) { return Contains(net, *a); });
}

void ApplyForwarded(const std::vector<IpNetwork>& proxies, http::Request* req) {
  if (proxies.empty() || !InNetworks(proxies, req->remote_ip)) return;
  if (auto entry = LastValue(*req, "x-forwarded-for")) {
    if (auto client = ForwardedAddress(*entry)) {
      req->remote_ip = client->ToString();
    } else {
      WarnUnusable(req->remote_ip, *entry);
    }
  }
  if (auto proto = LastValue(*req, "x-forwarded-proto")) {
    const std::string scheme = AsciiLowerString(*proto);
    if (scheme == "https") req->secure = true;
    if (scheme == "http") req->secure = false;
  }
}

}  // namespace sparkify::web::internal
