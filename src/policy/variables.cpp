// Request-context lookups and policy variables (${aws:username}, ${key, 'default'}, ${*}).
//
// Text a variable produces is literal: "${*}" matches only an asterisk, and a user name
// holding '?' does not turn into a wildcard.

#include <optional>

#include "policy/match.h"

namespace sparkify::policy {
namespace {

struct Variable {
  std::string_view key;
  std::optional<std::string_view> fallback;  // ${key, 'fallback'}
};

// Splits the inside of "${...}"; nullopt when malformed.
std::optional<Variable> SplitVariable(std::string_view inside) {
  Variable var;
  size_t comma = inside.find(',');
  var.key = TrimSpaceAndTab(inside.substr(0, comma));
  if (var.key.empty()) return std::nullopt;
  if (var.key == "$") return comma == std::string_view::npos ? std::optional(var) : std::nullopt;
  for (char c : var.key) {
    if (c == ' ' || c == '\t' || c == '$' || c == '{' || c == '\'') return std::nullopt;
  }
  if (comma != std::string_view::npos) {
    std::string_view quoted = TrimSpaceAndTab(inside.substr(comma + 1));
    if (quoted.size() < 2 || quoted.front() != '\'' || quoted.back() != '\'') return std::nullopt;
    quoted = quoted.substr(1, quoted.size() - 2);
    if (quoted.find('\'') != std::string_view::npos) return std::nullopt;
    var.fallback = quoted;
  }
  return var;
}

}  // namespace

const std::vector<std::string>* FindKey(const RequestContext& request, std::string_view key) {
  for (const auto& [name, values] : request.conditions) {
    if (EqualsIgnoreCase(name, key)) return &values;
  }
  return nullptr;
}

bool Expand(const ValueTemplate& value, const RequestContext& request, Expanded* out) {
  if (!value.has_variables) {
    out->text = value.text;
    out->literal = nullptr;
    return true;
  }
  std::string_view in = value.text;
  std::string& text = out->storage;
  std::vector<uint8_t>& mask = out->mask;
  text.clear();
  mask.clear();
  size_t i = 0;
  while (i < in.size()) {
    size_t close;
    if (in[i] != '$' || i + 1 >= in.size() || in[i + 1] != '{' ||
        (close = in.find('}', i + 2)) == std::string_view::npos) {
      text.push_back(in[i]);
      mask.push_back(0);
      ++i;
      continue;
    }
    std::optional<Variable> var = SplitVariable(in.substr(i + 2, close - i - 2));
    if (!var) return false;  // CheckVariables rejected this at parse time
    std::string_view resolved;
    if (var->key == "*" || var->key == "?" || var->key == "$") {
      resolved = var->key;
    } else if (const auto* values = FindKey(request, var->key);
               values != nullptr && values->size() == 1) {
      resolved = values->front();
    } else if (var->fallback) {
      resolved = *var->fallback;
    } else {
      return false;
    }
    text.append(resolved);
    mask.insert(mask.end(), resolved.size(), 1);
    i = close + 1;
  }
  out->text = text;
  out->literal = mask.data();
  return true;
}

Status CheckVariables(std::string_view text, std::string_view where) {
  size_t i;
  for (size_t from = 0; (i = text.find("${", from)) != std::string_view::npos;) {
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(std::string(where) +
                                     " has an unterminated policy variable \"" +
                                     std::string(text.substr(i)) + "\"");
    }
    if (!SplitVariable(text.substr(i + 2, close - i - 2))) {
      return Status::InvalidArgument(std::string(where) + " has a malformed policy variable \"" +
                                     std::string(text.substr(i, close - i + 1)) + "\"");
    }
    from = close + 1;
  }
  return Status::OK();
}

}  // namespace sparkify::policy
