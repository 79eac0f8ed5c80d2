// Percent-encoding and query strings, as SigV4 and S3 define them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparkify {

// RFC 3986 encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex).
// With keep_slash, '/' is kept as is (S3 object paths).
std::string UriEncode(std::string_view in, bool keep_slash = false);
// The same, appended to *out.
void UriEncodeAppend(std::string_view in, bool keep_slash, std::string* out);

// Decodes %XX sequences. With plus_as_space, '+' means ' ' (form encoding).
// nullopt on a malformed escape.
std::optional<std::string> UriDecode(std::string_view in, bool plus_as_space = false);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// past U+10FFFF). What a decoded URI path must be before it names anything.
bool IsValidUtf8(std::string_view text);

// One query parameter, decoded. `has_value` is false for "?acl" style keys.
struct QueryParam {
  std::string key;
  std::string value;
  bool has_value = false;
};

// Splits "a=1&b&c=%20" into decoded params in their original order.
// nullopt when an escape is malformed.
std::optional<std::vector<QueryParam>> ParseQuery(std::string_view query);

}  // namespace sparkify
