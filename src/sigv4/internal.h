// Private helpers shared by the SigV4 sources: string utilities and the parsers for the
// Authorization header and the presigned query. Pure functions, thread-safe. Not part of the
// library's public surface.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/strings.h"
#include "common/uri.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4::internal {

bool IsLowerHex(std::string_view s, size_t length);
// Parses a non-negative decimal of at most `max_digits` digits; nullopt otherwise.
std::optional<uint64_t> ParseDecimal(std::string_view s, size_t max_digits);

// ParseAmzDate / ParseHttpDate limited to the years 1970..2200: common's parsers convert to a
// nanosecond clock, which overflows (undefined behaviour) a few centuries away from 1970.
std::optional<TimePoint> ParseAmzDateBounded(std::string_view s);
std::optional<TimePoint> ParseHttpDateBounded(std::string_view s);

// The values of every header named `name` (case-insensitive), in order.
std::vector<std::string_view> HeaderValues(const Headers& headers, std::string_view name);
// The first value of `name`, if any.
std::optional<std::string_view> HeaderValue(const Headers& headers, std::string_view name);

// "AK/20130524/us-east-1/s3/aws4_request", split. The access key is everything before the last
// four parts.
struct CredentialParts {
  std::string access_key_id;
  std::string date;
  std::string region;
  std::string service;
};
// Returns an error message (no secrets) on failure.
std::optional<std::string> ParseCredential(std::string_view text, CredentialParts* out);

// The parts shared by both kinds of SigV4 auth, as the client sent them.
struct AuthFields {
  CredentialParts credential;
  std::vector<std::string> signed_headers;  // as listed, lowercased
  std::string signed_headers_text;
  std::string signature;  // 64 lowercase hex
};

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
// Returns an error message on failure.
std::optional<std::string> ParseAuthorizationHeader(std::string_view value, AuthFields* out);

// Presigned query auth parameters, decoded.
struct PresignFields {
  AuthFields auth;
  std::string amz_date;
  std::string expires_text;
  std::optional<std::string> security_token;
  std::optional<std::string> content_sha256;
};
// Returns an error message on failure. REQUIRES: params come from ParseQuery.
std::optional<std::string> ParsePresignParams(const std::vector<QueryParam>& params,
                                              PresignFields* out);

// Splits "host;x-amz-date" into names; nullopt on an empty or malformed list.
std::optional<std::vector<std::string>> SplitSignedHeaders(std::string_view text);

}  // namespace sparkify::sigv4::internal
