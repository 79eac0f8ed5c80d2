// The parsed form of a policy: what Parse builds and Evaluate / IsPublic read.
// Private to the policy library.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace sparkify::policy {

// A value as written in the policy. With Version 2012-10-17 it may hold ${...} policy
// variables, resolved per request (see variables.cpp).
struct ValueTemplate {
  std::string text;
  bool has_variables = false;
};

enum class ConditionFamily { kString, kNumeric, kDate, kBool, kIp, kArn, kNull };

// What one policy value is compared with; the Not... operators are `negated` versions.
enum class Comparison {
  kEquals,
  kEqualsIgnoreCase,
  kLike,
  kLessThan,
  kLessThanEquals,
  kGreaterThan,
  kGreaterThanEquals,
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

// An IPv4 (first 4 bytes used) or IPv6 network; bits past `prefix` are zero.
struct IpRange {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;
};

// One key under one operator: {"StringLike": {"s3:prefix": ["a/*", "b/*"]}}.
struct Condition {
  std::string op;         // as written: "ForAnyValue:StringLikeIfExists"
  std::string key;        // as written: "s3:prefix"
  std::string key_lower;  // "s3:prefix"
  ConditionFamily family = ConditionFamily::kString;
  Comparison comparison = Comparison::kEquals;
  bool negated = false;
  bool if_exists = false;
  SetQualifier qualifier = SetQualifier::kNone;
  std::vector<ValueTemplate> values;  // as written; Bool and Null values lowercased
  std::vector<double> numbers;        // kNumeric, one per value
  std::vector<int64_t> times_ms;      // kDate, one per value (Unix milliseconds)
  std::vector<IpRange> ranges;        // kIp, one per value
};

enum class PrincipalMode { kNone, kPrincipal, kNotPrincipal };

struct PrincipalSet {
  bool everyone = false;            // "*" or {"AWS": "*"}
  std::vector<std::string> aws;     // ARNs; account ids become arn:aws:iam::ID:root
  std::vector<std::string> others;  // Service, Federated and CanonicalUser values
};

struct Policy::Statement {
  std::string sid;
  Effect effect = Effect::kDeny;
  PrincipalMode principal_mode = PrincipalMode::kNone;
  PrincipalSet principals;
  bool not_action = false;
  std::vector<std::string> actions;
  bool not_resource = false;
  std::vector<ValueTemplate> resources;
  std::vector<Condition> conditions;  // all must hold
};

}  // namespace sparkify::policy
