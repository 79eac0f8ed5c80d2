// String and Arn condition operators. Both resolve policy variables in their values; an
// unresolvable variable makes that one value match nothing.

#include "policy/conditions.h"
#include "policy/match.h"

namespace sparkify::policy {

Status PrepareString(Condition*, std::string_view) { return Status::OK(); }

bool MatchString(const Condition& condition, std::string_view value,
                 const RequestContext& request) {
  for (const ValueTemplate& v : condition.values) {
    Expanded e;
    if (!Expand(v, request, &e)) continue;
    bool match = false;
    switch (condition.comparison) {
      case Comparison::kEqualsIgnoreCase:
        match = EqualsIgnoreCase(e.text, value);
        break;
      case Comparison::kLike:
        match = GlobMatch(e.text, e.literal, value, false);
        break;
      default:
        match = e.text == value;
        break;
    }
    if (match) return true;
  }
  return false;
}

// ArnEquals and ArnLike are the same operator in AWS: case-sensitive, field by field, with
// wildcards in each field.
Status PrepareArn(Condition*, std::string_view) { return Status::OK(); }

bool MatchArn(const Condition& condition, std::string_view value, const RequestContext& request) {
  for (const ValueTemplate& v : condition.values) {
    Expanded e;
    if (Expand(v, request, &e) && ArnMatch(e.text, e.literal, value)) return true;
  }
  return false;
}

}  // namespace sparkify::policy
