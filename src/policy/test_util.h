// Helpers shared by the policy tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace sparkify::policy::testing {

using Context = std::map<std::string, std::vector<std::string>>;

inline constexpr char kAlice[] = "arn:aws:iam::111122223333:user/alice";
inline constexpr char kBob[] = "arn:aws:iam::444455556666:user/bob";
inline constexpr char kAnonymous[] = "";

inline RequestContext Request(std::string principal, std::string action, std::string resource,
                              Context context = {}) {
  return RequestContext{std::move(principal), std::move(action), std::move(resource),
                        std::move(context)};
}

// An identity policy with one Allow statement for s3:GetObject on everything, guarded by
// `condition` (a JSON object).
inline std::string AllowWhen(const std::string& condition) {
  return R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject",)"
         R"("Resource":"*","Condition":)" +
         condition + "}}";
}

}  // namespace sparkify::policy::testing
