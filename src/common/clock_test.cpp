#include "common/clock.h"

#include <gtest/gtest.h>

namespace sparkify {
namespace {

TEST(ClockTest, AmzDateRoundTrip) {
  auto t = ParseAmzDate("20130524T000000Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(ToUnixSeconds(*t), 1369353600);
  EXPECT_EQ(FormatAmzDate(*t), "20130524T000000Z");
  EXPECT_EQ(FormatScopeDate(*t), "20130524");
  EXPECT_FALSE(ParseAmzDate("20130524T000000"));
  EXPECT_FALSE(ParseAmzDate("20131324T000000Z"));
  EXPECT_FALSE(ParseAmzDate("2013052AT000000Z"));
  // Out of the representable range: refused instead of overflowing.
  EXPECT_FALSE(ParseAmzDate("99990101T000000Z"));
  EXPECT_FALSE(ParseAmzDate("00010101T000000Z"));
  EXPECT_FALSE(ParseHttpDate("Fri, 24 May 9999 00:00:00 GMT"));
}

TEST(ClockTest, HttpDateFormats) {
  auto t = FromUnixSeconds(1369353600);
  EXPECT_EQ(FormatHttpDate(t), "Fri, 24 May 2013 00:00:00 GMT");
  EXPECT_EQ(ParseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), t);
  EXPECT_EQ(ParseHttpDate("Friday, 24-May-13 00:00:00 GMT"), t);
  EXPECT_EQ(ParseHttpDate("Fri May 24 00:00:00 2013"), t);
  EXPECT_FALSE(ParseHttpDate("yesterday"));
}

TEST(ClockTest, Iso8601WithMilliseconds) {
  auto t = FromUnixSeconds(1369353600) + std::chrono::milliseconds(42);
  EXPECT_EQ(FormatIso8601(t), "2013-05-24T00:00:00.042Z");
  EXPECT_EQ(ParseIso8601("2013-05-24T00:00:00.042Z"), t);
  EXPECT_EQ(ParseIso8601("2013-05-24T00:00:00Z"), FromUnixSeconds(1369353600));
  EXPECT_FALSE(ParseIso8601("2013-05-24 00:00:00Z"));
}

TEST(ClockTest, ManualClockMoves) {
  ManualClock clock(FromUnixSeconds(100));
  clock.Advance(std::chrono::seconds(5));
  EXPECT_EQ(ToUnixSeconds(clock.Now()), 105);
  clock.Set(FromUnixSeconds(7));
  EXPECT_EQ(ToUnixSeconds(clock.Now()), 7);
}

}  // namespace
}  // namespace sparkify
