#include "function/event.h"

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/crypto.h"
#include "common/strings.h"

namespace sparkify::function {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 64;

std::string TypeName(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) return "number";
  return v.type_name();  // "null", "boolean", "string", "array", "object"
}

// Nesting depth of JSON text (outside strings), so absurdly deep documents are refused before
// the parser builds them.
int MaxDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// Parses JSON text, or says why it is not JSON ("<what> is not valid JSON: ...").
Result<json> ParseJson(std::string_view text, std::string_view what) {
  if (MaxDepth(text) > kMaxDepth) {
    return Status::InvalidArgument(std::string(what) + " nests deeper than " +
                                   std::to_string(kMaxDepth) + " levels");
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    std::string msg = e.what();
    if (size_t close = msg.find("] "); msg.starts_with("[json.exception") && close != msg.npos) {
      msg = msg.substr(close + 2);
    }
    return Status::InvalidArgument(std::string(what) + " is not valid JSON: " + msg);
  }
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

Status CheckUrl(std::string_view url, const std::string& where) {
  if (url.empty()) return Status::InvalidArgument(where + " is empty");
  if (url.size() > kMaxUrlBytes) {
    return Status::InvalidArgument(where + " is longer than " + std::to_string(kMaxUrlBytes) +
                                   " bytes");
  }
  if (!StartsWithNoCase(url, "http://") && !StartsWithNoCase(url, "https://")) {
    return Status::InvalidArgument(where + " must be an http:// or https:// URL");
  }
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      return Status::InvalidArgument(where + " contains a space or control character");
    }
  }
  return Status::OK();
}

Status CheckKey(std::string_view key, const std::string& where) {
  if (key.empty()) return Status::InvalidArgument(where + " is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument(where + " is longer than " + std::to_string(kMaxKeyBytes) +
                                   " bytes");
  }
  return Status::OK();
}

// Reads "urls" or "keys" into `out`.
Status ReadInputs(const json& obj, const char* field, InputRef::Kind kind,
                  std::vector<InputRef>* out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_array()) {
    return Status::InvalidArgument(std::string("\"") + field + "\" must be an array of strings, got " +
                                   TypeName(*it));
  }
  if (it->size() > kMaxEventInputs) {
    return Status::InvalidArgument(std::string("\"") + field + "\" has " +
                                   std::to_string(it->size()) + " entries; at most " +
                                   std::to_string(kMaxEventInputs) + " are accepted");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!v.is_string()) {
      return Status::InvalidArgument(where + " must be a string, got " + TypeName(v));
    }
    const std::string& s = v.get_ref<const std::string&>();
    SPARKIFY_RETURN_IF_ERROR(kind == InputRef::Kind::kUrl ? CheckUrl(s, where) : CheckKey(s, where));
    out->push_back(InputRef{kind, s, 0});
  }
  return Status::OK();
}

Status ReadOptions(const json& v, RequestOptions* options) {
  if (v.is_null()) return Status::OK();
  if (!v.is_object()) {
    return Status::InvalidArgument("\"options\" must be an object, got " + TypeName(v));
  }
  for (const auto& [name, value] : v.items()) {
    const std::string where = "options." + name;
    if (name == "size") {
      if (!value.is_number_integer()) {
        return Status::InvalidArgument(where + " must be an integer, got " + TypeName(value));
      }
      int64_t size = value.get<int64_t>();
      if (size < kMinModelSize || size > kMaxModelSize || size % 64 != 0) {
        return Status::InvalidArgument(where + " must be a multiple of 64 from " +
                                       std::to_string(kMinModelSize) + " to " +
                                       std::to_string(kMaxModelSize) + ", got " +
                                       std::to_string(size));
      }
      options->size = static_cast<int>(size);
    } else if (name == "seed") {
      if (!value.is_number_unsigned()) {
        return Status::InvalidArgument(where + " must be a non-negative integer, got " +
                                       (value.is_number_integer() ? value.dump() : TypeName(value)));
      }
      options->seed = value.get<uint64_t>();
    } else if (name == "threshold") {
      if (!value.is_number()) {
        return Status::InvalidArgument(where + " must be a number, got " + TypeName(value));
      }
      double t = value.get<double>();
      if (!std::isfinite(t) || t < 0.0 || t > 1.0) {
        return Status::InvalidArgument(where + " must be between 0 and 1, got " + value.dump());
      }
      options->threshold = t;
    } else if (name == "max_covers") {
      if (!value.is_number_integer()) {
        return Status::InvalidArgument(where + " must be an integer, got " + TypeName(value));
      }
      int64_t n = value.get<int64_t>();
      if (n < 1 || n > kMaxCovers) {
        return Status::InvalidArgument(where + " must be from 1 to " + std::to_string(kMaxCovers) +
                                       ", got " + std::to_string(n));
      }
      options->max_covers = static_cast<int>(n);
    } else {
      return Status::InvalidArgument("unknown option \"" + name +
                                     "\" (known: size, seed, threshold, max_covers)");
    }
  }
  return Status::OK();
}

// The request object shared by the three forms.
Result<FunctionRequest> ReadRequestObject(const json& obj, std::string_view what) {
  if (!obj.is_object()) {
    return Status::InvalidArgument(std::string(what) + " must be a JSON object, got " +
                                   TypeName(obj));
  }
  for (const auto& [name, value] : obj.items()) {
    if (name != "op" && name != "urls" && name != "keys" && name != "options") {
      return Status::InvalidArgument("unknown field \"" + name + "\" in " + std::string(what) +
                                     " (known: op, urls, keys, options)");
    }
  }
  FunctionRequest req;
  if (auto it = obj.find("op"); it != obj.end()) {
    if (!it->is_string()) {
      return Status::InvalidArgument("\"op\" must be a string, got " + TypeName(*it));
    }
    const std::string& op = it->get_ref<const std::string&>();
    if (op == "collage") {
      req.op = Operation::kCollage;
    } else if (op == "segment") {
      req.op = Operation::kSegment;
    } else {
      return Status::InvalidArgument("\"op\" must be \"collage\" or \"segment\", got \"" + op +
                                     "\"");
    }
  }
  std::vector<InputRef> all;
  SPARKIFY_RETURN_IF_ERROR(ReadInputs(obj, "urls", InputRef::Kind::kUrl, &all));
  SPARKIFY_RETURN_IF_ERROR(ReadInputs(obj, "keys", InputRef::Kind::kKey, &all));
  if (auto it = obj.find("options"); it != obj.end()) {
    SPARKIFY_RETURN_IF_ERROR(ReadOptions(*it, &req.options));
  }
  if (all.empty()) {
    return Status::InvalidArgument("no inputs: give \"urls\" (http(s) image URLs) and/or \"keys\" "
                                   "(object keys in the bucket)");
  }
  if (all.size() > kMaxEventInputs) {
    return Status::InvalidArgument("too many inputs: " + std::to_string(all.size()) +
                                   " urls and keys together; at most " +
                                   std::to_string(kMaxEventInputs) + " are accepted");
  }
  std::set<std::pair<InputRef::Kind, std::string>> seen;
  int rank = 0;
  for (InputRef& in : all) {
    if (!seen.emplace(in.kind, in.value).second) continue;
    in.rank = rank++;
    if (static_cast<int>(req.inputs.size()) < req.options.max_covers) {
      req.inputs.push_back(std::move(in));
    } else {
      req.dropped.push_back(std::move(in));
    }
  }
  return req;
}

bool LooksLikeApiGateway(const json& event) {
  return event.contains("requestContext") || event.contains("httpMethod") ||
         event.contains("routeKey") || event.contains("isBase64Encoded");
}

// An event's error message quotes parts of the event (a JSON token, a field name, a value):
// bounded, so a 6 MB bad token is not echoed back (and does not make the answer too large).
constexpr size_t kMaxErrorBytes = 400;

Status Bounded(const Status& status) {
  const std::string& msg = status.message();
  if (msg.size() <= kMaxErrorBytes) return status;
  size_t cut = kMaxErrorBytes;
  while (cut > 0 && (static_cast<unsigned char>(msg[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  // Every event error is InvalidArgument.
  return Status::InvalidArgument(msg.substr(0, cut) + "... (" + std::to_string(msg.size()) +
                                 " bytes of message cut)");
}

ParsedEvent Fail(EventForm form, const Status& status) {
  ParsedEvent out;
  out.form = form;
  out.status = Bounded(status);
  return out;
}

ParsedEvent Done(EventForm form, Result<FunctionRequest> req) {
  if (!req.ok()) return Fail(form, req.status());
  ParsedEvent out;
  out.form = form;
  out.request = std::move(req).value();
  return out;
}

ParsedEvent ParseApiGatewayBody(const json& event) {
  constexpr EventForm kForm = EventForm::kApiGateway;
  bool base64 = false;
  if (auto it = event.find("isBase64Encoded"); it != event.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return Fail(kForm, Status::InvalidArgument("\"isBase64Encoded\" must be true or false, got " +
                                                 TypeName(*it)));
    }
    base64 = it->get<bool>();
  }
  const json& body = event["body"];
  if (body.is_null()) {
    return Fail(kForm, Status::InvalidArgument("the API Gateway event has no body: send the "
                                               "request JSON as the HTTP body"));
  }
  std::string text = body.get<std::string>();
  const auto blank = [](const std::string& t) {
    return t.find_first_not_of(" \t\r\n") == std::string::npos;
  };
  if (blank(text)) {
    return Fail(kForm, Status::InvalidArgument("the API Gateway event's body is empty: send the "
                                               "request JSON as the HTTP body"));
  }
  if (base64) {
    auto decoded = Base64Decode(text);
    if (!decoded) {
      return Fail(kForm, Status::InvalidArgument("body is flagged isBase64Encoded but is not "
                                                 "valid base64"));
    }
    text = std::move(*decoded);
  }
  if (blank(text)) {
    return Fail(kForm, Status::InvalidArgument("the API Gateway event's body is empty: send the "
                                               "request JSON as the HTTP body"));
  }
  auto parsed = ParseJson(text, "body");
  if (!parsed.ok()) return Fail(kForm, parsed.status());
  return Done(kForm, ReadRequestObject(*parsed, "body"));
}

}  // namespace

std::string_view EventFormName(EventForm form) {
  switch (form) {
    case EventForm::kOriginal: return "original";
    case EventForm::kApiGateway: return "api_gateway";
    case EventForm::kDirect: return "direct";
  }
  return "direct";
}

std::string_view OperationName(Operation op) {
  return op == Operation::kSegment ? "segment" : "collage";
}

ParsedEvent ParseEvent(std::string_view payload) {
  if (payload.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Fail(EventForm::kDirect,
                Status::InvalidArgument("empty event: send a JSON object such as "
                                        "{\"body\": {\"urls\": [\"https://...\"]}}"));
  }
  auto parsed = ParseJson(payload, "the event");
  if (!parsed.ok()) return Fail(EventForm::kDirect, parsed.status());
  const json& event = *parsed;
  if (!event.is_object()) {
    return Fail(EventForm::kDirect,
                Status::InvalidArgument("the event must be a JSON object, got " + TypeName(event)));
  }
  auto body = event.find("body");
  if (body == event.end()) {
    if (LooksLikeApiGateway(event)) {
      return Fail(EventForm::kApiGateway,
                  Status::InvalidArgument("the API Gateway event has no body: send the request "
                                          "JSON as the HTTP body"));
    }
    return Done(EventForm::kDirect, ReadRequestObject(event, "the event"));
  }
  if (body->is_string() || (body->is_null() && LooksLikeApiGateway(event))) {
    return ParseApiGatewayBody(event);
  }
  if (body->is_object()) {
    for (const char* field : {"op", "urls", "keys", "options"}) {
      if (event.contains(field)) {
        return Fail(EventForm::kOriginal,
                    Status::InvalidArgument(std::string("the event has both \"body\" and a top-level "
                                                        "\"") + field +
                                            "\": put the request either in body or at the top "
                                            "level"));
      }
    }
    return Done(EventForm::kOriginal, ReadRequestObject(*body, "body"));
  }
  return Fail(EventForm::kOriginal,
              Status::InvalidArgument("\"body\" must be a JSON object (or, from API Gateway, a JSON "
                                      "string), got " + TypeName(*body)));
}

}  // namespace sparkify::function
