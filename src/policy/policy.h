// IAM-style policies: parsing and evaluation, as AWS documents them for S3 and Lambda.
//
// Pure: no files, no sockets, no clock (the request context carries the time). A parsed
// Policy is immutable and safe to evaluate from many threads at once.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::policy {

// Everything a decision may look at. Condition keys are matched case-insensitively; values
// are strings as AWS puts them in the request context:
//   "aws:SecureTransport" -> {"true"|"false"}, "aws:SourceIp" -> {"127.0.0.1"},
//   "aws:CurrentTime" -> {"2026-11-27T10:00:00Z"}, "aws:EpochTime" -> {"1795000000"},
//   "s3:prefix" -> {"uploads/"}, "s3:signatureAge" -> {"1234"} (milliseconds),
//   "s3:authType" -> {"REST-HEADER"|"REST-QUERY-STRING"}, "aws:username" -> {"web"}.
// A key absent from the map, or with no values, is "not present" (what the ...IfExists
// operators and Null test). Multi-valued keys ("aws:TagKeys") are for ForAnyValue: and
// ForAllValues:. Policy variables (${aws:username}, ${aws:userid}, ...) are read from the
// same map and resolve only for a key with exactly one value.
struct RequestContext {
  // "arn:aws:iam::000000000000:user/NAME"; empty for an anonymous request.
  std::string principal_arn;
  std::string action;    // "s3:GetObject", "lambda:InvokeFunction"
  std::string resource;  // "arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket"
  std::map<std::string, std::vector<std::string>> conditions;
};

enum class Effect { kAllow, kDeny };

// One statement's outcome for a request.
enum class Match { kNotApplicable, kAllow, kDeny };

// Which kind of document Parse expects.
enum class PolicyKind {
  kAny,       // either kind below, but all statements alike (all with Principal or none)
  kIdentity,  // attached to a user or role: no statement may name a Principal
  kResource,  // bucket or function policy: every statement names Principal or NotPrincipal
};

struct ParseOptions {
  // Largest document accepted, in bytes. Default: 20 KiB, AWS's limit for bucket policies
  // (Lambda function policies also allow 20 KB; IAM managed policies 6,144 characters).
  size_t max_bytes = 20 * 1024;
  // Default: kAny.
  PolicyKind kind = PolicyKind::kAny;
};

class Policy {
 public:
  // Parses a policy document (identity policy, or resource policy with Principal).
  // Accepts Version "2012-10-17" or "2008-10-17" (absent means 2008-10-17, where, as in AWS,
  // ${...} policy variables are plain text); Statement as object or non-empty array; Action,
  // NotAction, Resource, NotResource, Principal/NotPrincipal as string or array; Condition
  // with the operators listed in condition.cpp. Every statement needs Effect, one of
  // Action/NotAction and one of Resource/NotResource. Unknown fields, unknown condition
  // operators, duplicate JSON keys or Sids, values of the wrong type, a document over
  // options.max_bytes, or bad JSON are InvalidArgument with a message saying where
  // ("Statement[2].Effect must be Allow or Deny"). Never throws.
  static Result<Policy> Parse(std::string_view json);
  static Result<Policy> Parse(std::string_view json, const ParseOptions& options);

  // kDeny if any applicable statement denies, else kAllow if any allows, else kNotApplicable.
  // For resource policies (has_principals()), a statement applies only when its Principal
  // matches request.principal_arn ("*" matches everyone, anonymous included; an account id
  // or "arn:aws:iam::ID:root" every principal of that account; NotPrincipal everyone not
  // listed, anonymous included).
  Match Evaluate(const RequestContext& request) const;

  // True when any statement names a Principal (a bucket or function resource policy).
  bool has_principals() const;
  // True when an Allow statement grants to "*" (or {"AWS":"*"}, or uses NotPrincipal)
  // without a condition that pins the caller to fixed values (no wildcard, no variable) of
  // aws:SourceIp (no range wider than /8 for IPv4 or /32 for IPv6), aws:SourceVpc(e),
  // aws:SourceArn, aws:SourceAccount, aws:SourceOwner, aws:PrincipalAccount,
  // aws:PrincipalArn, aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:userid,
  // s3:DataAccessPointArn or s3:DataAccessPointAccount through a positive operator without
  // IfExists or ForAllValues: what Block Public Access calls a public policy.
  bool IsPublic() const;
  // The original document.
  const std::string& json() const;

  Policy(const Policy&) = default;
  Policy& operator=(const Policy&) = default;
  Policy(Policy&&) = default;
  Policy& operator=(Policy&&) = default;
  ~Policy();

  struct Statement;  // defined in statement.h

 private:
  Policy();
  std::shared_ptr<const std::vector<Statement>> statements_;
  std::string json_;
};

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// The whole decision for a request inside one account: an explicit Deny in any policy wins;
// otherwise an Allow from any identity policy or from the resource policy allows; otherwise
// implicit deny. Anonymous requests (empty principal_arn) can only be allowed by the
// resource policy. `resource_policy` may be null; one without any Principal (not a valid
// resource policy) allows nothing, though its Deny statements still count. Null entries
// of `identity_policies` are skipped.
Decision Authorize(const std::vector<const Policy*>& identity_policies,
                   const Policy* resource_policy, const RequestContext& request);

// AWS wildcard match: '*' any run (including empty), '?' exactly one character.
// Case-sensitive unless `ignore_case` (ASCII only). Time O(|pattern| * |text|) at worst,
// never exponential.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);

}  // namespace sparkify::policy
