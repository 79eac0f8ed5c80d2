// Internal to the store: a bucket's CORS configuration as S3 has it (docs/s3.md, "CORS"):
// PutBucketCors's XML, its checks, the rule that answers a browser's request, and the
// Access-Control-* headers of that answer. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/http.h"

namespace sparkify::store {

struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_origins;  // each with at most one '*'
  std::vector<std::string> allowed_methods;  // GET, PUT, POST, DELETE, HEAD
  std::vector<std::string> allowed_headers;  // lowercase, each with at most one '*'
  std::vector<std::string> expose_headers;
  std::optional<int64_t> max_age_seconds;
};

struct CorsConfiguration {
  std::vector<CorsRule> rules;  // in order: the first that matches answers
};

inline constexpr size_t kMaxCorsRules = 100;
inline constexpr size_t kMaxCorsDocumentBytes = 64 * 1024;  // S3's limit

// <CORSConfiguration><CORSRule>...</CORSRule>...</CORSConfiguration>. InvalidArgument when the
// document is not well formed or has no rule, a rule lacks an origin or a method, or there are
// more than kMaxCorsRules rules (S3: MalformedXML).
Result<CorsConfiguration> ParseCorsConfiguration(std::string_view xml);
// What S3 refuses in a well-formed configuration (InvalidRequest): a method other than the
// five, an origin or allowed header with more than one '*', a negative MaxAgeSeconds; and
// what no answer could carry: an origin that is not header-safe text, a header that is not a
// header name.
std::optional<std::string> CorsConfigurationProblem(const CorsConfiguration& config);
// The configuration as GetBucketCors answers it (and as it is stored).
std::string CorsConfigurationXml(const CorsConfiguration& config);

// The first rule allowing `method` from `origin` with every one of `request_headers`
// (lowercase), or null. Origins match case-sensitively, headers without regard to case; a
// '*' in a rule stands for any run of characters.
const CorsRule* MatchCorsRule(const CorsConfiguration& config, std::string_view origin,
                              std::string_view method,
                              const std::vector<std::string>& request_headers);

// Access-Control-Request-Headers ("X-Amz-Date, content-type") as lowercase names.
std::vector<std::string> SplitRequestHeaders(std::string_view value);

// The Access-Control-* headers (and Vary) of the answer to a request from `origin` that
// `rule` allows. For a preflight, `preflight_headers` are the headers it asked for.
http::HeaderList CorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                             const std::vector<std::string>& preflight_headers);

}  // namespace sparkify::store
