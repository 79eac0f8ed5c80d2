#include "common/uri.h"

#include <array>
#include <cstdint>

namespace sparkify {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void UriEncodeAppend(std::string_view in, bool keep_slash, std::string* out) {
  // A hot path of SigV4 (every key and query value): no temporaries, table lookups.
  static constexpr char kHex[] = "0123456789ABCDEF";
  static const auto kUnreserved = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) {
      t[static_cast<size_t>(c)] = IsUnreserved(static_cast<unsigned char>(c));
    }
    return t;
  }();
  size_t escaped = 0;
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    escaped += !(kUnreserved[c] || (keep_slash && c == '/'));
  }
  size_t n = out->size();
  out->resize(n + in.size() + 2 * escaped);
  char* p = out->data();
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (kUnreserved[c] || (keep_slash && c == '/')) {
      p[n++] = ch;
    } else {
      p[n++] = '%';
      p[n++] = kHex[c >> 4];
      p[n++] = kHex[c & 0xF];
    }
  }
}

std::string UriEncode(std::string_view in, bool keep_slash) {
  std::string out;
  UriEncodeAppend(in, keep_slash, &out);
  return out;
}

std::optional<std::string> UriDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexDigit(in[i + 1]);
      int lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::vector<QueryParam>> ParseQuery(std::string_view query) {
  std::vector<QueryParam> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    QueryParam p;
    size_t eq = part.find('=');
    auto key = UriDecode(part.substr(0, eq), true);
    if (!key) return std::nullopt;
    p.key = std::move(*key);
    if (eq != std::string_view::npos) {
      auto value = UriDecode(part.substr(eq + 1), true);
      if (!value) return std::nullopt;
      p.value = std::move(*value);
      p.has_value = true;
    }
    params.push_back(std::move(p));
  }
  return params;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (text.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace sparkify
