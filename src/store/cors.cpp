#include "store/internal/cors.h"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/strings.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};

std::vector<std::string> Values(const pugi::xml_node& rule, const char* name) {
  std::vector<std::string> out;
  for (auto node : rule.children(name)) out.emplace_back(TrimAsciiWhitespace(node.child_value()));
  return out;
}

// `pattern` with at most one '*' standing for any run of characters.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto equal = [ignore_case](std::string_view a, std::string_view b) {
    return ignore_case ? EqualsIgnoreCase(a, b) : a == b;
  };
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return equal(pattern, text);
  std::string_view head = pattern.substr(0, star);
  std::string_view tail = pattern.substr(star + 1);
  return text.size() >= head.size() + tail.size() && equal(text.substr(0, head.size()), head) &&
         equal(text.substr(text.size() - tail.size()), tail);
}

bool AnyMatches(const std::vector<std::string>& patterns, std::string_view text, bool ignore_case) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return WildcardMatch(p, text, ignore_case); });
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Result<CorsRule> ParseRule(const pugi::xml_node& node) {
  CorsRule rule;
  rule.id = node.child_value("ID");
  rule.allowed_origins = Values(node, "AllowedOrigin");
  rule.allowed_methods = Values(node, "AllowedMethod");
  for (std::string& header : Values(node, "AllowedHeader")) {
    rule.allowed_headers.push_back(AsciiLowerString(header));
  }
  rule.expose_headers = Values(node, "ExposeHeader");
  if (rule.allowed_origins.empty() || rule.allowed_methods.empty()) {
    return Status::InvalidArgument(
        "every <CORSRule> needs an <AllowedOrigin> and an <AllowedMethod>");
  }
  if (auto age = node.child("MaxAgeSeconds")) {
    std::string_view text = TrimAsciiWhitespace(age.child_value());
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Status::InvalidArgument("<MaxAgeSeconds> must be an integer");
    }
    rule.max_age_seconds = value;
  }
  return rule;
}

}  // namespace

Result<CorsConfiguration> ParseCorsConfiguration(std::string_view xml) {
  pugi::xml_document doc;
  auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return Status::InvalidArgument(std::string("XML is not well-formed: ") + parsed.description());
  }
  if (std::strcmp(doc.document_element().name(), "CORSConfiguration") != 0) {
    return Status::InvalidArgument("expected a <CORSConfiguration> document");
  }
  CorsConfiguration config;
  for (auto node : doc.document_element().children("CORSRule")) {
    if (config.rules.size() == kMaxCorsRules) {
      return Status::InvalidArgument("a CORS configuration holds at most " +
                                     std::to_string(kMaxCorsRules) + " rules");
    }
    SPARKIFY_ASSIGN_OR_RETURN(CorsRule rule, ParseRule(node));
    config.rules.push_back(std::move(rule));
  }
  if (config.rules.empty()) return Status::InvalidArgument("at least one <CORSRule> is needed");
  return config;
}

std::optional<std::string> CorsConfigurationProblem(const CorsConfiguration& config) {
  for (const CorsRule& rule : config.rules) {
    for (const std::string& method : rule.allowed_methods) {
      if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods)) {
        return "Found unsupported HTTP method in CORS config. Unsupported method is " + method;
      }
    }
    // Each of these goes into an answer's headers: header-safe text only.
    for (const std::string& origin : rule.allowed_origins) {
      if (origin.empty() || !http::IsValidFieldValue(origin)) {
        return "AllowedOrigin \"" + origin + "\" is not a valid origin.";
      }
      if (std::count(origin.begin(), origin.end(), '*') > 1) {
        return "AllowedOrigin \"" + origin + "\" can not have more than one wildcard.";
      }
    }
    for (const std::string& header : rule.expose_headers) {
      if (!http::IsValidFieldName(header)) {
        return "ExposeHeader \"" + header + "\" is not a valid header name.";
      }
    }
    for (const std::string& header : rule.allowed_headers) {
      if (!http::IsValidFieldName(header)) {
        return "AllowedHeader \"" + header + "\" is not a valid header name.";
      }
      if (std::count(header.begin(), header.end(), '*') > 1) {
        return "AllowedHeader \"" + header + "\" can not have more than one wildcard.";
      }
    }
    if (rule.max_age_seconds && *rule.max_age_seconds < 0) {
      return "MaxAgeSeconds must not be negative";
    }
  }
  return std::nullopt;
}

std::string CorsConfigurationXml(const CorsConfiguration& config) {
  std::string out =
      std::string(kXmlHeader) + "<CORSConfiguration xmlns=\"" + std::string(kS3Namespace) + "\">";
  auto add = [&out](const char* name, const std::string& value) {
    out += std::string("<") + name + ">" + XmlEscape(value) + "</" + name + ">";
  };
  for (const CorsRule& rule : config.rules) {
    out += "<CORSRule>";
    if (!rule.id.empty()) add("ID", rule.id);
    for (const auto& v : rule.allowed_headers) add("AllowedHeader", v);
    for (const auto& v : rule.allowed_methods) add("AllowedMethod", v);
    for (const auto& v : rule.allowed_origins) add("AllowedOrigin", v);
    for (const auto& v : rule.expose_headers) add("ExposeHeader", v);
    if (rule.max_age_seconds) add("MaxAgeSeconds", std::to_string(*rule.max_age_seconds));
    out += "</CORSRule>";
  }
  return out + "</CORSConfiguration>";
}

const CorsRule* MatchCorsRule(const CorsConfiguration& config, std::string_view origin,
                              std::string_view method,
                              const std::vector<std::string>& request_headers) {
  for (const CorsRule& rule : config.rules) {
    if (!AnyMatches(rule.allowed_origins, origin, false)) continue;
    if (std::find(rule.allowed_methods.begin(), rule.allowed_methods.end(), method) ==
        rule.allowed_methods.end()) {
      continue;
    }
    bool headers_allowed = std::all_of(
        request_headers.begin(), request_headers.end(),
        [&rule](const std::string& h) { return AnyMatches(rule.allowed_headers, h, true); });
    if (headers_allowed) return &rule;
  }
  return nullptr;
}

std::vector<std::string> SplitRequestHeaders(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = TrimSpaceAndTab(value.substr(0, comma));
    if (!item.empty()) out.push_back(AsciiLowerString(item));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

http::HeaderList CorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                             const std::vector<std::string>& preflight_headers) {
  const bool any_origin = std::find(rule.allowed_origins.begin(), rule.allowed_origins.end(),
                                    "*") != rule.allowed_origins.end();
  http::HeaderList out;
  out.emplace_back("Access-Control-Allow-Origin", any_origin ? "*" : std::string(origin));
  out.emplace_back("Access-Control-Allow-Methods", Join(rule.allowed_methods));
  if (preflight && !preflight_headers.empty()) {
    out.emplace_back("Access-Control-Allow-Headers", Join(preflight_headers));
  }
  if (!rule.expose_headers.empty()) {
    out.emplace_back("Access-Control-Expose-Headers", Join(rule.expose_headers));
  }
  if (rule.max_age_seconds) {
    out.emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
  }
  if (!any_origin) out.emplace_back("Access-Control-Allow-Credentials", "true");
  out.emplace_back("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
  return out;
}

}  // namespace sparkify::store
