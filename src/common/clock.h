// Time: an injectable clock and the timestamp formats S3 and SigV4 use.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sparkify {

using TimePoint = std::chrono::system_clock::time_point;

// The source of "now" for servers and signers, so tests can fix or move time.
// Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // The process-wide real clock.
  static const Clock& System();
};

// A clock that only moves when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_ns_(start.time_since_epoch().count()) {}
  TimePoint Now() const override;
  void Set(TimePoint t);
  void Advance(std::chrono::nanoseconds d);

 private:
  std::atomic<int64_t> now_ns_;
};

// "20130524T000000Z" (ISO 8601 basic, UTC), as in X-Amz-Date.
std::string FormatAmzDate(TimePoint t);
std::optional<TimePoint> ParseAmzDate(std::string_view s);
// "20130524", the credential scope date.
std::string FormatScopeDate(TimePoint t);
// "Fri, 24 May 2013 00:00:00 GMT" (RFC 7231 IMF-fixdate), as in Last-Modified.
std::string FormatHttpDate(TimePoint t);
// Accepts IMF-fixdate, plus the obsolete RFC 850 and asctime forms.
std::optional<TimePoint> ParseHttpDate(std::string_view s);
// "2013-05-24T00:00:00.000Z", as in S3 XML listings.
std::string FormatIso8601(TimePoint t);
std::optional<TimePoint> ParseIso8601(std::string_view s);

int64_t ToUnixSeconds(TimePoint t);
TimePoint FromUnixSeconds(int64_t s);

}  // namespace sparkify
