// Helpers shared by the policy tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

// One row of a condition table: a Condition block guarding an Allow, a request context, and
// whether alice's s3:GetObject is allowed.
struct ConditionCase {
  int id;
  std::string condition;
  Context context;
  bool allowed;
};

inline void RunTable(const std::vector<ConditionCase>& cases) {
  for (const ConditionCase& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.id) + ": " + c.condition);
    auto policy = Policy::Parse(AllowWhen(c.condition));
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    auto request = Request(kAlice, "s3:GetObject", "arn:aws:s3:::b/k", c.context);
    EXPECT_EQ(policy->Evaluate(request) == Match::kAllow, c.allowed);
  }
}

}  // namespace sparkify::policy::testing
