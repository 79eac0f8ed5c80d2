// Condition blocks: parsing, evaluation, and one pair of hooks per operator family
// (cond_string.cpp, cond_numeric.cpp, ...). Private to the policy library.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "policy/policy.h"
#include "policy/statement.h"

namespace sparkify::policy {

// Appends the conditions of one "Condition" object to `out`. `where` names the block in
// messages ("Statement[0].Condition"); `variables` enables ${...} in String and Arn values.
Status ParseConditionBlock(const nlohmann::json& block, std::string_view where, bool variables,
                           std::vector<Condition>* out);

// Whether the request satisfies one condition, with AWS's rules for missing keys, IfExists,
// ForAnyValue / ForAllValues and negated operators.
bool EvaluateCondition(const Condition& condition, const RequestContext& request);

// Family hooks. Prepare checks (and parses) condition->values, `where` naming the key in
// messages; Match says whether one request value equals / is like / is below ... any of the
// condition's values, in the positive sense (negation is applied by EvaluateCondition).
Status PrepareString(Condition* condition, std::string_view where);
bool MatchString(const Condition& condition, std::string_view value, const RequestContext& request);
Status PrepareArn(Condition* condition, std::string_view where);
bool MatchArn(const Condition& condition, std::string_view value, const RequestContext& request);
Status PrepareNumeric(Condition* condition, std::string_view where);
bool MatchNumeric(const Condition& condition, std::string_view value);
Status PrepareDate(Condition* condition, std::string_view where);
bool MatchDate(const Condition& condition, std::string_view value);
Status PrepareBool(Condition* condition, std::string_view where);  // also Null's values
bool MatchBool(const Condition& condition, std::string_view value);
Status PrepareIp(Condition* condition, std::string_view where);
bool MatchIp(const Condition& condition, std::string_view value);

// "2026-11-27", "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.5+01:00", or Unix seconds
// ("1795000000"), as Unix milliseconds.
std::optional<int64_t> ParseDate(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128 range).
std::optional<IpRange> ParseIpRange(std::string_view text);
// A request's address; an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") becomes IPv4.
std::optional<IpRange> ParseIpAddress(std::string_view text);
bool IpRangeContains(const IpRange& range, const IpRange& address);

}  // namespace sparkify::policy
