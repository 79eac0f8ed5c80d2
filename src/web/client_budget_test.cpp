#include "web/internal/client_budget.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

const TimePoint kStart{std::chrono::seconds(1700000000)};

TEST(ClientBudgetTest, RunningJobsPerClientAreCappedAndFreedWhenAJobEnds) {
  ManualClock clock(kStart);
  ClientBudget budget({1000, 2, 30}, &clock);
  std::shared_ptr<ClientBudget::Slot> a, b, c, other;
  EXPECT_FALSE(budget.StartJob("10.0.0.1", 5, &a));
  EXPECT_FALSE(budget.StartJob("10.0.0.1", 5, &b));
  auto third = budget.StartJob("10.0.0.1", 5, &c);
  ASSERT_TRUE(third);
  EXPECT_NE(third->message.find("2 collages in the making"), std::string::npos);
  EXPECT_FALSE(c);
  // Another client is not held up by the first.
  EXPECT_FALSE(budget.StartJob("10.0.0.2", 5, &other));
  a.reset();  // a job ended
  EXPECT_FALSE(budget.StartJob("10.0.0.1", 5, &c));
}

TEST(ClientBudgetTest, CoversPerMinuteComeBackOverTime) {
  ManualClock clock(kStart);
  ClientBudget budget({60, 0, 30}, &clock);
  std::shared_ptr<ClientBudget::Slot> slot;
  EXPECT_FALSE(budget.StartJob("c", 30, &slot));
  EXPECT_FALSE(budget.StartJob("c", 30, &slot));
  auto refused = budget.StartJob("c", 30, &slot);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 30);  // 30 covers at one a second
  clock.Advance(std::chrono::seconds(29));
  EXPECT_TRUE(budget.StartJob("c", 30, &slot));
  clock.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(budget.StartJob("c", 30, &slot));
  // A job larger than a minute's budget still runs on a full bucket.
  EXPECT_FALSE(budget.StartJob("d", 500, &slot));
}

TEST(ClientBudgetTest, ActionsPerMinute) {
  ManualClock clock(kStart);
  ClientBudget budget({0, 0, 3}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(budget.Action("c"));
  auto refused = budget.Action("c");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 20);
  EXPECT_FALSE(budget.Action("someone else"));
  clock.Advance(std::chrono::seconds(20));
  EXPECT_FALSE(budget.Action("c"));
}

TEST(ClientBudgetTest, UploadFormsHaveABudgetOfTheirOwn) {
  ManualClock clock(kStart);
  ClientBudget budget({60, 0, 30}, &clock);
  EXPECT_FALSE(budget.UploadForms("c", 40));
  auto refused = budget.UploadForms("c", 30);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 10);
  EXPECT_NE(refused->message.find("60 files a minute"), std::string::npos);
  // The job made of those files still has its covers.
  std::shared_ptr<ClientBudget::Slot> slot;
  EXPECT_FALSE(budget.StartJob("c", 40, &slot));
  clock.Advance(std::chrono::seconds(10));
  EXPECT_FALSE(budget.UploadForms("c", 30));
}

TEST(ClientBudgetTest, ZeroMeansNoLimit) {
  ManualClock clock(kStart);
  ClientBudget budget({0, 0, 0}, &clock);
  std::vector<std::shared_ptr<ClientBudget::Slot>> slots(100);
  for (auto& s : slots) EXPECT_FALSE(budget.StartJob("c", 30, &s));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(budget.Action("c"));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(budget.UploadForms("c", 30));
}

}  // namespace
}  // namespace sparkify::web::internal
