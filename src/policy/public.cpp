// Policy::IsPublic: Block Public Access's notion of a public policy.
//
// AWS: a policy is non-public only if each grant is limited to fixed values (no wildcard,
// no policy variable) of a principal or of keys that pin the caller's identity or network.
// Deny statements never make a policy public.

#include <algorithm>
#include <string_view>

#include "policy/conditions.h"
#include "policy/match.h"
#include "policy/statement.h"

namespace sparkify::policy {
namespace {

// Lowercase keys whose fixed values pin who or where the caller is.
constexpr std::string_view kPinningKeys[] = {
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
};

bool IsFixed(const ValueTemplate& v) {
  return v.text.find_first_of("*?") == std::string::npos && v.text.find("${") == std::string::npos;
}

// AWS counts ranges wider than /8 (IPv4) or /32 (IPv6) as public.
bool IsNarrow(const IpRange& range) { return range.prefix >= (range.v6 ? 32 : 8); }

// Whether this condition alone keeps the grant from being public.
bool Pins(const Condition& c) {
  // Negated operators, IfExists and ForAllValues all hold for a caller who lacks the key.
  if (c.negated || c.if_exists || c.qualifier == SetQualifier::kForAllValues) return false;
  if (std::find(std::begin(kPinningKeys), std::end(kPinningKeys), c.key_lower) ==
      std::end(kPinningKeys)) {
    return false;
  }
  if (!std::all_of(c.values.begin(), c.values.end(), IsFixed)) return false;
  if (c.key_lower == "aws:sourceip") {
    return c.family == ConditionFamily::kIp &&
           std::all_of(c.ranges.begin(), c.ranges.end(), IsNarrow);
  }
  return c.family == ConditionFamily::kString || c.family == ConditionFamily::kArn;
}

bool GrantsToEveryone(const Policy::Statement& s) {
  switch (s.principal_mode) {
    case PrincipalMode::kNone:
      return false;  // an identity policy grants to its holder only
    case PrincipalMode::kPrincipal:
      return s.principals.everyone;
    case PrincipalMode::kNotPrincipal:
      return true;
  }
  return false;
}

}  // namespace

bool Policy::IsPublic() const {
  return std::any_of(statements_->begin(), statements_->end(), [](const Statement& s) {
    return s.effect == Effect::kAllow && GrantsToEveryone(s) &&
           std::none_of(s.conditions.begin(), s.conditions.end(), Pins);
  });
}

}  // namespace sparkify::policy
