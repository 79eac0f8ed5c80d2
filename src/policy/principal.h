// Principal / NotPrincipal: parsing and matching. Private to the policy library.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "policy/statement.h"

namespace sparkify::policy {

// "*", or {"AWS": ..., "Service": ..., "Federated": ..., "CanonicalUser": ...} with a string
// or array of strings each. AWS values: "*", a 12-digit account id, or an ARN without
// wildcards (AWS allows none inside principal ARNs). `where` names the element in messages.
Status ParsePrincipal(const nlohmann::json& value, std::string_view where, PrincipalSet* out);

// Whether `principal_arn` (empty: anonymous) is in the set. An account root
// (arn:aws:iam::ID:root) stands for every principal whose ARN has account ID.
bool PrincipalMatches(const PrincipalSet& set, std::string_view principal_arn);

}  // namespace sparkify::policy
