#include "web/internal/jobs.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

std::shared_ptr<Job> Finished(JobTable& table) {
  auto job = JobTable::NewJob({Cover{}});
  job->Fail({"no_usable_covers", "none"});
  table.Add(job);
  return job;
}

TEST(JobTable, OnlyAddedJobsTakeAPlaceAndTheOldestFinishedGoFirst) {
  JobTable table(3, std::chrono::hours(1));
  auto mine = Finished(table);
  // Jobs made but never added (refused with 503) do not count.
  for (int i = 0; i < 210; ++i) JobTable::NewJob({Cover{}});
  EXPECT_EQ(table.Find(mine->id()), mine);
  auto running = JobTable::NewJob({Cover{}});
  table.Add(running);
  auto second = Finished(table);
  EXPECT_EQ(table.size(), 3u);
  auto third = Finished(table);  // 4 > 3: the oldest finished (mine) goes, not the running one
  EXPECT_EQ(table.Find(mine->id()), nullptr);
  EXPECT_EQ(table.Find(running->id()), running);
  EXPECT_EQ(table.Find(second->id()), second);
  EXPECT_EQ(table.Find(third->id()), third);
  EXPECT_EQ(table.size(), 3u);
}

TEST(JobTable, FinishedJobsExpireRunningOnesDoNot) {
  JobTable table(100, std::chrono::seconds(0));
  auto running = JobTable::NewJob({Cover{}});
  table.Add(running);
  auto done = Finished(table);
  EXPECT_EQ(table.Find(done->id()), nullptr);  // past a TTL of 0 at once
  EXPECT_EQ(table.Find(running->id()), running);
  running->Fail({"function_down", "down"});
  EXPECT_EQ(table.Find(running->id()), nullptr);
  Finished(table);  // adding sweeps the expired ones out of memory
  EXPECT_EQ(table.size(), 0u);
  JobTable day(100, std::chrono::hours(24));
  auto kept = Finished(day);
  EXPECT_EQ(day.Find(kept->id()), kept);
}

}  // namespace
}  // namespace sparkify::web::internal
