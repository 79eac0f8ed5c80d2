// Policy::Evaluate and Authorize: which statements apply to a request, and how their
// effects combine (explicit Deny, then Allow, else implicit deny; order never matters).

#include <algorithm>

#include "policy/conditions.h"
#include "policy/match.h"
#include "policy/principal.h"
#include "policy/statement.h"

namespace sparkify::policy {
namespace {

bool ActionMatches(const Policy::Statement& s, std::string_view action) {
  bool listed = std::any_of(s.actions.begin(), s.actions.end(), [&](const std::string& pattern) {
    return WildcardMatch(pattern, action, /*ignore_case=*/true);
  });
  return listed != s.not_action;
}

bool ResourceMatches(const Policy::Statement& s, const RequestContext& request) {
  bool listed =
      std::any_of(s.resources.begin(), s.resources.end(), [&](const ValueTemplate& pattern) {
        Expanded e;
        return Expand(pattern, request, &e) && ArnMatch(e.text, e.literal, request.resource);
      });
  return listed != s.not_resource;
}

bool PrincipalApplies(const Policy::Statement& s, std::string_view principal_arn) {
  switch (s.principal_mode) {
    case PrincipalMode::kNone:
      return true;
    case PrincipalMode::kPrincipal:
      return PrincipalMatches(s.principals, principal_arn);
    case PrincipalMode::kNotPrincipal:
      return !PrincipalMatches(s.principals, principal_arn);
  }
  return false;
}

bool Applies(const Policy::Statement& s, const RequestContext& request) {
  return PrincipalApplies(s, request.principal_arn) && ActionMatches(s, request.action) &&
         ResourceMatches(s, request) &&
         std::all_of(s.conditions.begin(), s.conditions.end(),
                     [&](const Condition& c) { return EvaluateCondition(c, request); });
}

}  // namespace

Policy::Policy() = default;
Policy::~Policy() = default;

const std::string& Policy::json() const { return json_; }

bool Policy::has_principals() const {
  return std::any_of(statements_->begin(), statements_->end(),
                     [](const Statement& s) { return s.principal_mode != PrincipalMode::kNone; });
}

Match Policy::Evaluate(const RequestContext& request) const {
  bool allowed = false;
  for (const Statement& s : *statements_) {
    if (!Applies(s, request)) continue;
    if (s.effect == Effect::kDeny) return Match::kDeny;
    allowed = true;
  }
  return allowed ? Match::kAllow : Match::kNotApplicable;
}

Decision Authorize(const std::vector<const Policy*>& identity_policies,
                   const Policy* resource_policy, const RequestContext& request) {
  bool anonymous = request.principal_arn.empty();
  bool allowed = false;
  for (const Policy* policy : identity_policies) {
    if (policy == nullptr) continue;
    Match m = policy->Evaluate(request);
    if (m == Match::kDeny) return Decision::kExplicitDeny;
    // Nobody's identity policy speaks for an anonymous caller.
    if (m == Match::kAllow && !anonymous) allowed = true;
  }
  if (resource_policy != nullptr) {
    Match m = resource_policy->Evaluate(request);
    if (m == Match::kDeny) return Decision::kExplicitDeny;
    if (m == Match::kAllow && resource_policy->has_principals()) allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

}  // namespace sparkify::policy
