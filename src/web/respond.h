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

// The value of cookie `name` in the request's Cookie headers, or "".
std::string CookieValue(const http::Request& req, std::string_view name);
// The decoded value of query parameter `name`, or nullopt.
std::optional<std::string> QueryValue(const http::Request& req, std::string_view name);

}  // namespace sparkify::web::internal
