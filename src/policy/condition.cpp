// Condition blocks: operator names, value checking, and the evaluation rules every family
// shares.
//
// Operators (each also with the IfExists suffix, except Null, and the ForAnyValue: or
// ForAllValues: prefix, except Null): StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike, NumericEquals, NumericNotEquals,
// NumericLessThan, NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals,
// DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan,
// DateGreaterThanEquals, Bool, IpAddress, NotIpAddress, ArnEquals, ArnLike, ArnNotEquals,
// ArnNotLike, Null. Operator names are matched case-insensitively, as are keys.

#include <algorithm>
#include <optional>
#include <string>

#include "policy/conditions.h"
#include "policy/match.h"

namespace sparkify::policy {
namespace {

struct OperatorInfo {
  std::string_view name;
  ConditionFamily family;
  Comparison comparison;
  bool negated;
};

using F = ConditionFamily;
using C = Comparison;
constexpr OperatorInfo kOperators[] = {
    {"StringEquals", F::kString, C::kEquals, false},
    {"StringNotEquals", F::kString, C::kEquals, true},
    {"StringEqualsIgnoreCase", F::kString, C::kEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", F::kString, C::kEqualsIgnoreCase, true},
    {"StringLike", F::kString, C::kLike, false},
    {"StringNotLike", F::kString, C::kLike, true},
    {"NumericEquals", F::kNumeric, C::kEquals, false},
    {"NumericNotEquals", F::kNumeric, C::kEquals, true},
    {"NumericLessThan", F::kNumeric, C::kLessThan, false},
    {"NumericLessThanEquals", F::kNumeric, C::kLessThanEquals, false},
    {"NumericGreaterThan", F::kNumeric, C::kGreaterThan, false},
    {"NumericGreaterThanEquals", F::kNumeric, C::kGreaterThanEquals, false},
    {"DateEquals", F::kDate, C::kEquals, false},
    {"DateNotEquals", F::kDate, C::kEquals, true},
    {"DateLessThan", F::kDate, C::kLessThan, false},
    {"DateLessThanEquals", F::kDate, C::kLessThanEquals, false},
    {"DateGreaterThan", F::kDate, C::kGreaterThan, false},
    {"DateGreaterThanEquals", F::kDate, C::kGreaterThanEquals, false},
    {"Bool", F::kBool, C::kEquals, false},
    {"IpAddress", F::kIp, C::kEquals, false},
    {"NotIpAddress", F::kIp, C::kEquals, true},
    {"ArnEquals", F::kArn, C::kEquals, false},
    {"ArnLike", F::kArn, C::kLike, false},
    {"ArnNotEquals", F::kArn, C::kEquals, true},
    {"ArnNotLike", F::kArn, C::kLike, true},
    {"Null", F::kNull, C::kEquals, false},
};

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->size() < prefix.size() || !EqualsIgnoreCase(s->substr(0, prefix.size()), prefix)) {
    return false;
  }
  s->remove_prefix(prefix.size());
  return true;
}

const OperatorInfo* FindOperator(std::string_view name) {
  for (const OperatorInfo& info : kOperators) {
    if (EqualsIgnoreCase(info.name, name)) return &info;
  }
  return nullptr;
}

// Fills the operator fields of `c` from a name such as "ForAllValues:StringLikeIfExists".
Status ParseOperator(std::string_view op, std::string_view where, Condition* c) {
  std::string_view rest = op;
  if (ConsumePrefix(&rest, "ForAnyValue:")) {
    c->qualifier = SetQualifier::kForAnyValue;
  } else if (ConsumePrefix(&rest, "ForAllValues:")) {
    c->qualifier = SetQualifier::kForAllValues;
  }
  const OperatorInfo* info = FindOperator(rest);
  constexpr std::string_view kIfExists = "IfExists";
  if (info == nullptr && rest.size() > kIfExists.size() &&
      EqualsIgnoreCase(rest.substr(rest.size() - kIfExists.size()), kIfExists)) {
    info = FindOperator(rest.substr(0, rest.size() - kIfExists.size()));
    c->if_exists = true;
  }
  if (info == nullptr) {
    return Status::InvalidArgument(std::string(where) + " has unknown condition operator \"" +
                                   std::string(op) + "\"");
  }
  if (info->family == F::kNull && (c->if_exists || c->qualifier != SetQualifier::kNone)) {
    return Status::InvalidArgument(std::string(where) + "." + std::string(op) +
                                   ": Null takes neither IfExists nor a set qualifier");
  }
  c->op = op;
  c->family = info->family;
  c->comparison = info->comparison;
  c->negated = info->negated;
  return Status::OK();
}

Status ValueText(const nlohmann::json& v, std::string_view where, std::string* out) {
  if (v.is_string()) {
    *out = v.get<std::string>();
  } else if (v.is_boolean()) {
    *out = v.get<bool>() ? "true" : "false";
  } else if (v.is_number()) {
    *out = v.dump();
  } else {
    return Status::InvalidArgument(std::string(where) +
                                   " values must be strings, numbers or booleans");
  }
  return Status::OK();
}

Status ParseValues(const nlohmann::json& v, std::string_view where, Condition* c) {
  if (v.is_array()) {
    if (v.empty()) return Status::InvalidArgument(std::string(where) + " has no values");
    for (const auto& item : v) {
      std::string text;
      SPARKIFY_RETURN_IF_ERROR(ValueText(item, where, &text));
      c->values.push_back(ValueTemplate{std::move(text), false});
    }
    return Status::OK();
  }
  std::string text;
  SPARKIFY_RETURN_IF_ERROR(ValueText(v, where, &text));
  c->values.push_back(ValueTemplate{std::move(text), false});
  return Status::OK();
}

Status Prepare(Condition* c, std::string_view where) {
  switch (c->family) {
    case F::kString:
      return PrepareString(c, where);
    case F::kArn:
      return PrepareArn(c, where);
    case F::kNumeric:
      return PrepareNumeric(c, where);
    case F::kDate:
      return PrepareDate(c, where);
    case F::kBool:
    case F::kNull:
      return PrepareBool(c, where);
    case F::kIp:
      return PrepareIp(c, where);
  }
  return Status::Internal("unhandled condition family");
}

bool MatchOne(const Condition& c, std::string_view value, const RequestContext& request) {
  switch (c.family) {
    case F::kString:
      return MatchString(c, value, request);
    case F::kArn:
      return MatchArn(c, value, request);
    case F::kNumeric:
      return MatchNumeric(c, value);
    case F::kDate:
      return MatchDate(c, value);
    case F::kBool:
      return MatchBool(c, value);
    case F::kIp:
      return MatchIp(c, value);
    case F::kNull:
      return false;  // handled by EvaluateCondition
  }
  return false;
}

}  // namespace

Status ParseConditionBlock(const nlohmann::json& block, std::string_view where, bool variables,
                           std::vector<Condition>* out) {
  if (!block.is_object()) {
    return Status::InvalidArgument(std::string(where) + " must be an object");
  }
  for (const auto& [op, keys] : block.items()) {
    Condition base;
    SPARKIFY_RETURN_IF_ERROR(ParseOperator(op, where, &base));
    std::string op_where = std::string(where) + "." + op;
    if (!keys.is_object() || keys.empty()) {
      return Status::InvalidArgument(op_where + " must be an object of condition keys to values");
    }
    for (const auto& [key, values] : keys.items()) {
      size_t colon = key.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == key.size()) {
        return Status::InvalidArgument(op_where + " key \"" + key +
                                       "\" must be prefixed by a service, as in aws:SourceIp");
      }
      std::string key_where = op_where + "." + key;
      Condition c = base;
      c.key = key;
      c.key_lower = AsciiLowerString(key);
      SPARKIFY_RETURN_IF_ERROR(ParseValues(values, key_where, &c));
      if (variables && (c.family == F::kString || c.family == F::kArn)) {
        for (ValueTemplate& v : c.values) {
          if (v.text.find("${") == std::string::npos) continue;
          SPARKIFY_RETURN_IF_ERROR(CheckVariables(v.text, key_where));
          v.has_variables = true;
        }
      }
      SPARKIFY_RETURN_IF_ERROR(Prepare(&c, key_where));
      out->push_back(std::move(c));
    }
  }
  return Status::OK();
}

bool EvaluateCondition(const Condition& c, const RequestContext& request) {
  const std::vector<std::string>* values = FindKey(request, c.key);
  bool present = values != nullptr && !values->empty();
  if (c.family == F::kNull) {
    // {"Null": {"k": "true"}}: k is absent. Several values are OR'ed like everywhere else.
    return std::any_of(c.values.begin(), c.values.end(),
                       [&](const ValueTemplate& v) { return (v.text == "true") != present; });
  }
  if (!present) {
    if (c.if_exists) return true;
    switch (c.qualifier) {
      case SetQualifier::kForAllValues:
        return true;  // vacuously: every one of no values
      case SetQualifier::kForAnyValue:
        return false;
      case SetQualifier::kNone:
        return c.negated;  // StringNotEquals on a missing key holds
    }
  }
  auto holds = [&](const std::string& v) { return MatchOne(c, v, request) != c.negated; };
  bool all = std::all_of(values->begin(), values->end(), holds);
  switch (c.qualifier) {
    case SetQualifier::kForAllValues:
      return all;
    case SetQualifier::kForAnyValue:
      return std::any_of(values->begin(), values->end(), holds);
    case SetQualifier::kNone:
      // A single-valued key: "equals one of" for positive operators, "equals none of" for
      // negated ones; on a multi-valued key that is "any value matches" / "no value matches".
      return c.negated ? all : std::any_of(values->begin(), values->end(), holds);
  }
  return false;
}

}  // namespace sparkify::policy
