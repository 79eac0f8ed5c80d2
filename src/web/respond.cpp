#include "web/internal/respond.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "common/log_sample.h"
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

std::string StoreTrouble(std::string_view sentence, const Status& cause, std::string_view context) {
  static std::atomic<uint64_t> told{0};
  if (const uint64_t n = SampledOccurrence(told)) {
    spdlog::warn("web: {}{}{} (the store: {}; {} such so far)", context,
                 context.empty() ? "" : ": ", sentence, cause.message(), n);
  }
  return std::string(sentence) +
         " The image store did not answer as it should; try again in a "
         "moment.";
}

http::Response StoreErrorResponse(std::string_view sentence, const Status& cause,
                                  std::string_view context) {
  return ErrorResponse(502, "store_error", StoreTrouble(sentence, cause, context));
}

std::optional<http::Response> ReadJsonObject(http::Request& req, size_t max_json_bytes,
                                             nlohmann::json* doc) {
  if (req.content_length && *req.content_length > max_json_bytes) {
    return ErrorResponse(413, "too_large", "The request is too large.");
  }
  auto body = req.ReadAll(max_json_bytes);
  if (!body.ok()) {
    if (body.status().code() == Status::Code::kResourceExhausted) {
      return ErrorResponse(413, "too_large", "The request is too large.");
    }
    return ErrorResponse(400, "bad_request",
                         "Could not read the request: " + body.status().message());
  }
  *doc = ParseUntrustedJson(*body);
  if (doc->is_discarded()) {
    // accept() does not build the document (and does not recurse): safe at any depth.
    return ErrorResponse(
        400, "bad_request",
        nlohmann::json::accept(*body)
            ? "The body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels."
            : std::string("The body is not valid JSON."));
  }
  if (!doc->is_object()) {
    return ErrorResponse(400, "bad_request",
                         "The body must be a JSON object, not " + JsonTypeName(*doc) + ".");
  }
  return std::nullopt;
}

http::Response NoneUsable(const std::vector<std::string>& codes,
                          const std::vector<std::string>& reasons) {
  std::string all;
  for (const auto& r : reasons) {
    if (!all.empty()) all += ' ';
    all += r;
  }
  std::string code = codes.empty() ? "bad_image" : codes[0];
  for (const std::string& c : codes) {
    if (c != code) code = "bad_image";
  }
  return ErrorResponse(code == "unsupported_type" ? 415
                       : code == "too_large"      ? 413
                                                  : 400,
                       code, codes.size() == 1 ? all : "None of the files can be used. " + all);
}

std::string ShortName(std::string name) {
  if (name.size() > 200) {
    size_t cut = 200;
    // Not inside a UTF-8 sequence: back to the start of the character at the cut.
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name = name.substr(0, cut) + "...";
  }
  return name;
}

std::string ContentSecurityPolicy(const std::string& bucket_origin, bool uploads_to_bucket) {
  std::string csp = "default-src 'self'; img-src 'self' ";
  csp += bucket_origin;
  csp += " data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'";
  if (uploads_to_bucket) {
    csp += ' ';
    csp += bucket_origin;
  }
  csp += "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  return csp;
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
