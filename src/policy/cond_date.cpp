// Date condition operators, over Unix milliseconds. Values are ISO 8601 dates or date-times
// (extended "2026-11-27T10:00:00.250+01:00" or basic "20261127T100000Z"; no zone means
// UTC) or Unix seconds ("1795000000"), as AWS accepts them. A request value that is not a
// date equals nothing and is neither before nor after anything.

#include <optional>
#include <string>

#include "policy/conditions.h"

namespace sparkify::policy {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool AtEnd() const { return i_ == s_.size(); }
  bool PeekDigit() const { return i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // Exactly n digits.
  bool Digits(int n, int* out) {
    int v = 0;
    for (int k = 0; k < n; ++k) {
      if (!PeekDigit()) return false;
      v = v * 10 + (s_[i_++] - '0');
    }
    *out = v;
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days from 1970-01-01 to a proleptic Gregorian date (the era / day-of-era method).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::optional<int64_t> ParseEpochSeconds(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return (negative ? -v : v) * 1000;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  Cursor in(s);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!in.Digits(4, &year)) return std::nullopt;
  bool extended = in.Eat('-');
  if (!in.Digits(2, &month) || (extended && !in.Eat('-')) || !in.Digits(2, &day)) {
    return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (!in.AtEnd()) {
    if (!in.Eat('T') && !in.Eat('t')) return std::nullopt;
    if (!in.Digits(2, &hour) || (extended && !in.Eat(':')) || !in.Digits(2, &minute)) {
      return std::nullopt;
    }
    bool has_seconds = extended ? in.Eat(':') : in.PeekDigit();
    if (has_seconds) {
      if (!in.Digits(2, &second)) return std::nullopt;
      if (in.Eat('.') || in.Eat(',')) {
        if (!in.PeekDigit()) return std::nullopt;
        int scale = 100, digit = 0;
        while (in.PeekDigit()) {
          (void)in.Digits(1, &digit);
          millis += digit * scale;
          scale /= 10;
        }
      }
    }
    if (in.Eat('Z') || in.Eat('z')) {
      // UTC
    } else if (bool plus = in.Eat('+'); plus || in.Eat('-')) {
      int oh = 0, om = 0;
      if (!in.Digits(2, &oh)) return std::nullopt;
      bool colon = in.Eat(':');
      if ((colon || in.PeekDigit()) && !in.Digits(2, &om)) return std::nullopt;
      if (oh > 23 || om > 59) return std::nullopt;
      offset_minutes = (plus ? 1 : -1) * (oh * 60 + om);
    }
    if (!in.AtEnd()) return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                    offset_minutes * 60;
  return seconds * 1000 + millis;
}

}  // namespace

std::optional<int64_t> ParseDate(std::string_view text) {
  if (text.size() > 64) return std::nullopt;
  if (std::optional<int64_t> epoch = ParseEpochSeconds(text)) return epoch;
  return ParseIso8601(text);
}

Status PrepareDate(Condition* condition, std::string_view where) {
  for (const ValueTemplate& v : condition->values) {
    std::optional<int64_t> t = ParseDate(v.text);
    if (!t) {
      return Status::InvalidArgument(std::string(where) + " value \"" + v.text +
                                     "\" is not an ISO 8601 date or Unix time");
    }
    condition->times_ms.push_back(*t);
  }
  return Status::OK();
}

bool MatchDate(const Condition& condition, std::string_view value) {
  std::optional<int64_t> t = ParseDate(value);
  if (!t) return false;
  for (int64_t limit : condition.times_ms) {
    bool match = false;
    switch (condition.comparison) {
      case Comparison::kLessThan:
        match = *t < limit;
        break;
      case Comparison::kLessThanEquals:
        match = *t <= limit;
        break;
      case Comparison::kGreaterThan:
        match = *t > limit;
        break;
      case Comparison::kGreaterThanEquals:
        match = *t >= limit;
        break;
      default:
        match = *t == limit;
        break;
    }
    if (match) return true;
  }
  return false;
}

}  // namespace sparkify::policy
