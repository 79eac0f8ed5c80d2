#include "common/clock.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace sparkify {
namespace {

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

std::tm ToUtc(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::optional<TimePoint> FromUtc(std::tm tm) {
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  // Years 1970..2199 only: beyond ~2262 a nanosecond system_clock overflows.
  if (tm.tm_year < 70 || tm.tm_year >= 300) return std::nullopt;
  std::time_t secs = timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(secs);
}

std::string Format(TimePoint t, const char* fmt) {
  std::tm tm = ToUtc(t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

// Parses exactly `count` digits at s[pos].
bool Digits(std::string_view s, size_t pos, size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<TimePoint> ParseWithStrptime(std::string_view s, const char* fmt) {
  std::string copy(s);
  std::tm tm{};
  const char* end = strptime(copy.c_str(), fmt, &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return FromUtc(tm);
}

}  // namespace

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

TimePoint ManualClock::Now() const {
  return TimePoint(std::chrono::system_clock::duration(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(now_ns_.load()))));
}
void ManualClock::Set(TimePoint t) {
  now_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}
void ManualClock::Advance(std::chrono::nanoseconds d) { now_ns_.fetch_add(d.count()); }

std::string FormatAmzDate(TimePoint t) {
  // Every signature formats one: digits by hand rather than strftime.
  std::tm tm = ToUtc(t);
  std::string out = "00000000T000000Z";
  auto put = [&out](size_t pos, int width, int value) {
    for (int i = width - 1; i >= 0; --i, value /= 10) {
      out[pos + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    }
  };
  put(0, 4, tm.tm_year + 1900);
  put(4, 2, tm.tm_mon + 1);
  put(6, 2, tm.tm_mday);
  put(9, 2, tm.tm_hour);
  put(11, 2, tm.tm_min);
  put(13, 2, tm.tm_sec);
  return out;
}
std::string FormatScopeDate(TimePoint t) { return Format(t, "%Y%m%d"); }
std::string FormatHttpDate(TimePoint t) { return Format(t, "%a, %d %b %Y %H:%M:%S GMT"); }

std::optional<TimePoint> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  int year, mon;
  if (!Digits(s, 0, 4, &year) || !Digits(s, 4, 2, &mon) || !Digits(s, 6, 2, &tm.tm_mday) ||
      !Digits(s, 9, 2, &tm.tm_hour) || !Digits(s, 11, 2, &tm.tm_min) ||
      !Digits(s, 13, 2, &tm.tm_sec)) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  return FromUtc(tm);
}

std::optional<TimePoint> ParseHttpDate(std::string_view s) {
  if (auto t = ParseWithStrptime(s, "%a, %d %b %Y %H:%M:%S GMT")) return t;
  if (auto t = ParseWithStrptime(s, "%A, %d-%b-%y %H:%M:%S GMT")) return t;
  return ParseWithStrptime(s, "%a %b %e %H:%M:%S %Y");
}

std::string FormatIso8601(TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
            1000;
  if (ms < 0) ms += 1000;
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03dZ", static_cast<int>(ms));
  return Format(t, "%Y-%m-%dT%H:%M:%S") + buf;
}

std::optional<TimePoint> ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (s.size() < 20 || s.back() != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  std::tm tm{};
  int year, mon;
  if (!Digits(s, 0, 4, &year) || !Digits(s, 5, 2, &mon) || !Digits(s, 8, 2, &tm.tm_mday) ||
      !Digits(s, 11, 2, &tm.tm_hour) || !Digits(s, 14, 2, &tm.tm_min) ||
      !Digits(s, 17, 2, &tm.tm_sec)) {
    return std::nullopt;
  }
  int ms = 0;
  if (s.size() > 20) {
    if (s[19] != '.' || s.size() != 24 || !Digits(s, 20, 3, &ms)) return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  auto t = FromUtc(tm);
  if (!t) return std::nullopt;
  return *t + std::chrono::milliseconds(ms);
}

int64_t ToUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint FromUnixSeconds(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

}  // namespace sparkify
