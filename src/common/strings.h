// ASCII string helpers shared by the protocols (HTTP, SigV4, IAM policies, multipart bodies).
// Pure functions, thread-safe. ASCII only: bytes >= 0x80 compare and copy as they are.
#pragma once

#include <string>
#include <string_view>

namespace sparkify {

char AsciiLower(char c);
std::string AsciiLowerString(std::string_view s);
// Case-insensitive equality of ASCII letters (header names, policy values).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Without the spaces and tabs at both ends (HTTP's optional whitespace, OWS).
std::string_view TrimSpaceAndTab(std::string_view s);
// Without the characters of `chars` at both ends.
std::string_view TrimChars(std::string_view s, std::string_view chars);
// Without ASCII whitespace (space, \t, \n, \v, \f, \r) at both ends.
std::string_view TrimAsciiWhitespace(std::string_view s);

}  // namespace sparkify
