// Wildcard and ARN matching.
//
// GlobMatch is the greedy matcher with one remembered star: when a later '*' is reached the
// earlier ones never need to grow again, so on a mismatch only the last star is widened by
// one character. That bounds the work by |pattern| * |text| steps whatever the pattern.

#include <array>

#include "policy/match.h"

namespace sparkify::policy {

bool GlobMatch(std::string_view pattern, const uint8_t* literal, std::string_view text,
               bool ignore_case) {
  auto is_wild = [&](size_t i, char w) {
    return pattern[i] == w && (literal == nullptr || literal[i] == 0);
  };
  auto same = [&](char a, char b) { return ignore_case ? AsciiLower(a) == AsciiLower(b) : a == b; };

  constexpr size_t kNone = std::string_view::npos;
  size_t p = 0, t = 0;
  size_t star = kNone;  // pattern index of the last '*' seen
  size_t resume = 0;    // text index that star currently swallows up to
  while (t < text.size()) {
    if (p < pattern.size() && is_wild(p, '*')) {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && (is_wild(p, '?') || same(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (star != kNone) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && is_wild(p, '*')) ++p;
  return p == pattern.size();
}

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  return GlobMatch(pattern, nullptr, text, ignore_case);
}

namespace {

// Offsets of the first five ':' in s, or false when there are fewer.
bool FieldColons(std::string_view s, std::array<size_t, 5>* colons) {
  size_t from = 0;
  for (size_t& c : *colons) {
    c = s.find(':', from);
    if (c == std::string_view::npos) return false;
    from = c + 1;
  }
  return true;
}

}  // namespace

bool ArnMatch(std::string_view pattern, const uint8_t* literal, std::string_view arn) {
  std::array<size_t, 5> pc{}, ac{};
  if (!FieldColons(pattern, &pc) || !FieldColons(arn, &ac)) {
    return GlobMatch(pattern, literal, arn, false);
  }
  size_t p_begin = 0, a_begin = 0;
  for (size_t i = 0; i <= pc.size(); ++i) {
    size_t p_end = i < pc.size() ? pc[i] : pattern.size();
    size_t a_end = i < ac.size() ? ac[i] : arn.size();
    if (!GlobMatch(pattern.substr(p_begin, p_end - p_begin),
                   literal == nullptr ? nullptr : literal + p_begin,
                   arn.substr(a_begin, a_end - a_begin), false)) {
      return false;
    }
    p_begin = p_end + 1;
    a_begin = a_end + 1;
  }
  return true;
}

}  // namespace sparkify::policy
