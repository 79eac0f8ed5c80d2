// IpAddress and NotIpAddress: IPv4 and IPv6 networks in CIDR form. A request address that
// does not parse is in no network (so NotIpAddress holds for it); IPv4 never matches an
// IPv6 network, except that an IPv4-mapped request address (::ffff:a.b.c.d, what a
// dual-stack socket reports) is treated as the IPv4 address it carries.

#include <algorithm>
#include <string>
#include <vector>

#include "policy/conditions.h"

namespace sparkify::policy {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseIpv4(std::string_view s, uint8_t* out) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
    int value = 0, digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9' && digits < 3) {
      value = value * 10 + (s.front() - '0');
      s.remove_prefix(1);
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    out[part] = static_cast<uint8_t>(value);
  }
  return s.empty();
}

// Colon-separated hex groups; the last may be a dotted IPv4 address when `v4_tail`.
bool ParseGroups(std::string_view s, bool v4_tail, std::vector<uint16_t>* groups) {
  if (s.empty()) return true;
  while (true) {
    size_t colon = s.find(':');
    std::string_view group = s.substr(0, colon);
    if (colon == std::string_view::npos && v4_tail && group.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!ParseIpv4(group, v4)) return false;
      groups->push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      groups->push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    if (group.empty() || group.size() > 4) return false;
    int value = 0;
    for (char c : group) {
      int h = HexValue(c);
      if (h < 0) return false;
      value = value << 4 | h;
    }
    groups->push_back(static_cast<uint16_t>(value));
    if (colon == std::string_view::npos) return true;
    s.remove_prefix(colon + 1);
  }
}

bool ParseIpv6(std::string_view s, std::array<uint8_t, 16>* out) {
  if (s.size() > 45) return false;
  std::vector<uint16_t> head, tail;
  size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!ParseGroups(s, true, &head) || head.size() != 8) return false;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    if (!ParseGroups(s.substr(0, gap), false, &head) ||
        !ParseGroups(s.substr(gap + 2), true, &tail) || head.size() + tail.size() > 7) {
      return false;
    }
  }
  out->fill(0);
  for (size_t i = 0; i < head.size(); ++i) {
    (*out)[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    (*out)[2 * i + 1] = static_cast<uint8_t>(head[i]);
  }
  size_t start = 8 - tail.size();
  for (size_t i = 0; i < tail.size(); ++i) {
    (*out)[2 * (start + i)] = static_cast<uint8_t>(tail[i] >> 8);
    (*out)[2 * (start + i) + 1] = static_cast<uint8_t>(tail[i]);
  }
  return true;
}

bool ParseAddress(std::string_view s, IpRange* out) {
  out->bytes.fill(0);
  out->v6 = s.find(':') != std::string_view::npos;
  out->prefix = out->v6 ? 128 : 32;
  return out->v6 ? ParseIpv6(s, &out->bytes) : ParseIpv4(s, out->bytes.data());
}

}  // namespace

std::optional<IpRange> ParseIpRange(std::string_view text) {
  size_t slash = text.find('/');
  IpRange range;
  if (!ParseAddress(text.substr(0, slash), &range)) return std::nullopt;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    int prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > range.prefix) return std::nullopt;
    range.prefix = prefix;
  }
  for (int bit = range.prefix; bit < 128; ++bit) {
    range.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return range;
}

std::optional<IpRange> ParseIpAddress(std::string_view text) {
  IpRange address;
  if (!ParseAddress(text, &address)) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.v6 && std::equal(kMapped, kMapped + 12, address.bytes.begin())) {
    IpRange v4;
    std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.bytes.begin());
    v4.prefix = 32;
    return v4;
  }
  return address;
}

bool IpRangeContains(const IpRange& range, const IpRange& address) {
  if (range.v6 != address.v6) return false;
  for (int bit = 0; bit < range.prefix; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((range.bytes[bit / 8] & mask) != (address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

Status PrepareIp(Condition* condition, std::string_view where) {
  for (const ValueTemplate& v : condition->values) {
    std::optional<IpRange> range = ParseIpRange(v.text);
    if (!range) {
      return Status::InvalidArgument(std::string(where) + " value \"" + v.text +
                                     "\" is not an IPv4 or IPv6 address or CIDR block");
    }
    condition->ranges.push_back(*range);
  }
  return Status::OK();
}

bool MatchIp(const Condition& condition, std::string_view value) {
  std::optional<IpRange> address = ParseIpAddress(value);
  if (!address) return false;
  for (const IpRange& range : condition.ranges) {
    if (IpRangeContains(range, *address)) return true;
  }
  return false;
}

}  // namespace sparkify::policy
