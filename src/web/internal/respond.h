// Internal: building the API's responses (JSON documents and errors) and reading requests
// (cookies, query parameters). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http.h"

namespace sparkify::web::internal {

http::Response JsonResponse(int status, const nlohmann::json& body);
// {"error": {"code", "message"}}
http::Response ErrorResponse(int status, std::string_view code, std::string_view message);
// The image store failed: `sentence` ("Could not store the cover.") and a hint for the person;
// the store's own words (S3 error codes, hosts, keys) go to the log only, with the sentence and
// `context` ("job ID"), the first 10 times and then every 100th (a stream retrying every
// second, or a store down for everyone, would flood it).
std::string StoreTrouble(std::string_view sentence, const Status& cause,
                         std::string_view context = {});
// A 502 store_error with StoreTrouble's message.
http::Response StoreErrorResponse(std::string_view sentence, const Status& cause,
                                  std::string_view context = {});
// The Content-Security-Policy allowing images from `bucket_origin`, and requests to it when
// the page uploads there (`uploads_to_bucket`).
std::string ContentSecurityPolicy(const std::string& bucket_origin, bool uploads_to_bucket);
// Adds the security headers every response carries.
void AddSecurityHeaders(http::Response& res, const std::string& csp);

// How deep untrusted JSON (request bodies, the function's and Spotify's answers) may nest.
// nlohmann's dump(), comparisons and copies recurse, so a deeper document could overflow the
// stack; every real document of the API nests at most 6 levels.
constexpr int kMaxJsonDepth = 32;
// Parses untrusted JSON text; a discarded value (is_discarded(), not an object) when it is
// not JSON or nests deeper than `max_depth` levels (the parse stops at the first one too deep).
nlohmann::json ParseUntrustedJson(std::string_view text, int max_depth = kMaxJsonDepth);
// "string", "number", "object", ...: what to say about an untrusted value instead of dumping it.
std::string JsonTypeName(const nlohmann::json& v);

// obj[key] when obj is an object holding key, else null (never throws, unlike value()/at()).
const nlohmann::json& JsonMember(const nlohmann::json& obj, std::string_view key);
// obj[key] when it is a string, else `fallback` (missing, wrong type, or obj not an object).
std::string JsonString(const nlohmann::json& obj, std::string_view key,
                       const std::string& fallback = "");

// Reads the request's body as a JSON object (at most `max_json_bytes`) into `*doc`; the error
// answer when it is too large (413), cannot be read or is not a JSON object (400).
std::optional<http::Response> ReadJsonObject(http::Request& req, size_t max_json_bytes,
                                             nlohmann::json* doc);
// The answer when none of a request's files is usable: `codes` (one per file) give the status
// (all unsupported_type: 415, all too_large: 413, else 400 bad_image); the message is every
// file's reason.
http::Response NoneUsable(const std::vector<std::string>& codes,
                          const std::vector<std::string>& reasons);
// A name from outside (file name, URL) as it is shown to people: at most 200 bytes and "...".
std::string ShortName(std::string name);

// ASCII lower case (header values, schemes).
std::string LowerAscii(std::string_view s);

// The value of cookie `name` in the request's Cookie headers, or "".
std::string CookieValue(const http::Request& req, std::string_view name);
// The decoded value of query parameter `name`, or nullopt.
std::optional<std::string> QueryValue(const http::Request& req, std::string_view name);

}  // namespace sparkify::web::internal
