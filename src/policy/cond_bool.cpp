// Bool, and the values of Null: "true" or "false", in any case.

#include <string>

#include "policy/conditions.h"
#include "policy/match.h"

namespace sparkify::policy {

Status PrepareBool(Condition* condition, std::string_view where) {
  for (ValueTemplate& v : condition->values) {
    std::string lower = AsciiLowerString(v.text);
    if (lower != "true" && lower != "false") {
      return Status::InvalidArgument(std::string(where) + " value \"" + v.text +
                                     "\" must be true or false");
    }
    v.text = std::move(lower);
  }
  return Status::OK();
}

bool MatchBool(const Condition& condition, std::string_view value) {
  for (const ValueTemplate& v : condition.values) {
    if (EqualsIgnoreCase(v.text, value)) return true;
  }
  return false;
}

}  // namespace sparkify::policy
