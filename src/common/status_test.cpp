// Status and Result: codes and messages, and what reading the value of an error does.
#include "common/status.h"

#include <gtest/gtest.h>

#include <string>

namespace sparkify {
namespace {

TEST(ResultTest, HoldsAValueOrTheStatusWhyNot) {
  Result<std::string> good(std::string("cover"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "cover");
  EXPECT_EQ(good->size(), 5u);
  Result<std::string> bad(Status::NotFound("no such key"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString(), "NotFound: no such key");
}

TEST(ResultDeathTest, TheValueOfAnErrorStopsWithItsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<std::string> bad(Status::NotFound("no such key"));
  EXPECT_DEATH((void)bad.value(), "Result::value\\(\\) of an error: NotFound: no such key");
  EXPECT_DEATH((void)*bad, "of an error: NotFound");
  EXPECT_DEATH((void)bad->size(), "of an error: NotFound");
  const Result<int> also_bad(Status::Internal("boom"));
  EXPECT_DEATH((void)*also_bad, "of an error: Internal: boom");
}

}  // namespace
}  // namespace sparkify
