#include "lambda/function_error.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace sparkify::lambda {

using json = nlohmann::json;

std::string FunctionErrorJson(std::string_view error_type, std::string_view message) {
  json doc = json::object();
  doc["errorMessage"] = std::string(message);
  doc["errorType"] = std::string(error_type);
  doc["stackTrace"] = json::array();
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsValidErrorTypeHeader(std::string_view value) {
  std::string_view rest;
  if (value.starts_with("Runtime.")) {
    rest = value.substr(8);
  } else if (value.starts_with("Function.")) {
    rest = value.substr(9);
  } else {
    return false;
  }
  if (rest.size() < 2 || !std::isupper(static_cast<unsigned char>(rest[0]))) return false;
  for (char c : rest) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string ErrorTypeHeader(std::string_view error_type) {
  if (IsValidErrorTypeHeader(error_type)) return std::string(error_type);
  std::string camel;
  bool word_start = true;
  for (char c : error_type) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::isalpha(u)) {
      camel += word_start ? static_cast<char>(std::toupper(u)) : c;
      word_start = false;
    } else {
      word_start = true;
    }
    if (camel.size() >= 64) break;
  }
  if (camel.size() < 2) return "Function.Error";
  return "Function." + camel;
}

std::optional<FunctionError> ParseFunctionError(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  FunctionError out;
  if (auto it = doc.find("errorType"); it != doc.end() && it->is_string()) {
    out.error_type = it->get<std::string>();
  }
  if (auto it = doc.find("errorMessage"); it != doc.end() && it->is_string()) {
    out.message = it->get<std::string>();
  }
  return out;
}

}  // namespace sparkify::lambda
