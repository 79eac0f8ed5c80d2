#include "common/strings.h"

namespace sparkify {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view TrimChars(std::string_view s, std::string_view chars) {
  size_t begin = s.find_first_not_of(chars);
  if (begin == std::string_view::npos) return s.substr(s.size());
  size_t end = s.find_last_not_of(chars);
  return s.substr(begin, end - begin + 1);
}

std::string_view TrimSpaceAndTab(std::string_view s) { return TrimChars(s, " \t"); }

std::string_view TrimAsciiWhitespace(std::string_view s) { return TrimChars(s, " \t\n\v\f\r"); }

}  // namespace sparkify
