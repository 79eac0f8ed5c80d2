#include "web/internal/respond.h"

#include "common/uri.h"

namespace sparkify::web::internal {

namespace {
struct TooDeep {};
}  // namespace

nlohmann::json ParseUntrustedJson(std::string_view text, int max_depth) {
  using json = nlohmann::json;
  // The callback's depth is the number of enclosing arrays/objects; throwing ends the parse
  // before the document grows any deeper.
  auto limit = [max_depth](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= max_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    return json::parse(text, limit, false);
  } catch (const TooDeep&) {
    return json(json::value_t::discarded);
  }
}

std::string JsonTypeName(const nlohmann::json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}

const nlohmann::json& JsonMember(const nlohmann::json& obj, std::string_view key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string JsonString(const nlohmann::json& obj, std::string_view key,
                       const std::string& fallback) {
  const nlohmann::json& v = JsonMember(obj, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

http::Response JsonResponse(int status, const nlohmann::json& body) {
  http::Response res;
  res.status = status;
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.Set("Content-Type", "application/json");
  res.Set("Cache-Control", "no-store");
  return res;
}

http::Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  return JsonResponse(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::string ContentSecurityPolicy(const std::string& image_origin) {
  return "default-src 'self'; img-src 'self' " + image_origin +
         " data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; "
         "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
}

void AddSecurityHeaders(http::Response& res, const std::string& csp) {
  res.Set("Content-Security-Policy", csp);
  res.Set("X-Content-Type-Options", "nosniff");
  res.Set("Referrer-Policy", "no-referrer");
  res.Set("X-Frame-Options", "DENY");
  res.Set("Cross-Origin-Opener-Policy", "same-origin");
}

std::string CookieValue(const http::Request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return "";
}

std::optional<std::string> QueryValue(const http::Request& req, std::string_view name) {
  auto params = ParseQuery(req.query);
  if (!params) return std::nullopt;
  for (const auto& p : *params) {
    if (p.key == name) return p.value;
  }
  return std::nullopt;
}

}  // namespace sparkify::web::internal
