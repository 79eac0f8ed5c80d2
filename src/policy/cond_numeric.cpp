// Numeric condition operators. A request value that is not a number equals nothing and is
// neither less nor greater than anything (so NumericNotEquals holds for it).

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "policy/conditions.h"

namespace sparkify::policy {
namespace {

std::optional<double> ParseNumber(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

Status PrepareNumeric(Condition* condition, std::string_view where) {
  for (const ValueTemplate& v : condition->values) {
    std::optional<double> d = ParseNumber(v.text);
    if (!d) {
      return Status::InvalidArgument(std::string(where) + " value \"" + v.text +
                                     "\" is not a number");
    }
    condition->numbers.push_back(*d);
  }
  return Status::OK();
}

bool MatchNumeric(const Condition& condition, std::string_view value) {
  std::optional<double> d = ParseNumber(value);
  if (!d) return false;
  for (double n : condition.numbers) {
    bool match = false;
    switch (condition.comparison) {
      case Comparison::kLessThan:
        match = *d < n;
        break;
      case Comparison::kLessThanEquals:
        match = *d <= n;
        break;
      case Comparison::kGreaterThan:
        match = *d > n;
        break;
      case Comparison::kGreaterThanEquals:
        match = *d >= n;
        break;
      default:
        match = *d == n;
        break;
    }
    if (match) return true;
  }
  return false;
}

}  // namespace sparkify::policy
