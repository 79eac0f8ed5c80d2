// String matching shared by statements and conditions: wildcards, ARNs, policy variables,
// and request-context lookups. Private to the policy library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/strings.h"
#include "policy/policy.h"
#include "policy/statement.h"

namespace sparkify::policy {

// WildcardMatch where `literal`, when not null, marks pattern bytes (same length as the
// pattern) that stand for themselves even if they are '*' or '?' (from ${*}, ${?} or a
// substituted value).
bool GlobMatch(std::string_view pattern, const uint8_t* literal, std::string_view text,
               bool ignore_case);

// ARN match as AWS does it for Resource and Arn conditions: when both sides have the six
// colon-separated fields, each field is matched on its own, so a wildcard never spans a ':'
// before the resource part; otherwise the whole strings are matched. Case-sensitive.
bool ArnMatch(std::string_view pattern, const uint8_t* literal, std::string_view arn);

// The values of a request-context key, compared case-insensitively; null when absent.
const std::vector<std::string>* FindKey(const RequestContext& request, std::string_view key);

// A ValueTemplate with its variables resolved for one request. `text` points into the
// template or into `storage`, so an Expanded must not be copied or moved once filled.
struct Expanded {
  std::string_view text;
  const uint8_t* literal = nullptr;  // see GlobMatch
  std::string storage;
  std::vector<uint8_t> mask;
};

// Resolves ${key}, ${key, 'default'}, ${*}, ${?} and ${$}. False when a variable has no
// single value in the request and no default: that value then matches nothing.
bool Expand(const ValueTemplate& value, const RequestContext& request, Expanded* out);

// Checks the ${...} syntax of a value about to become a template with variables.
// `where` names the value in the error message.
Status CheckVariables(std::string_view text, std::string_view where);

}  // namespace sparkify::policy
