// Internal: building the API's responses (JSON documents and errors) and reading requests
// (cookies, query parameters). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/http.h"

namespace sparkify::web::internal {

http::Response JsonResponse(int status, const nlohmann::json& body);
// {"error": {"code", "message"}}
http::Response ErrorResponse(int status, std::string_view code, std::string_view message);
// The Content-Security-Policy allowing images from `image_origin` (the bucket's).
std::string ContentSecurityPolicy(const std::string& image_origin);
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

// ASCII lower case (header values, schemes).
std::string LowerAscii(std::string_view s);

// The value of cookie `name` in the request's Cookie headers, or "".
std::string CookieValue(const http::Request& req, std::string_view name);
// The decoded value of query parameter `name`, or nullopt.
std::optional<std::string> QueryValue(const http::Request& req, std::string_view name);

}  // namespace sparkify::web::internal
