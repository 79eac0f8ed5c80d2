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

TEST(JobPersistence, SavesEachNewStateOnceAndRetriesAFailedSave) {
  Job job("abc", {Cover{}, Cover{}});
  int changes = 0;
  job.OnChange([&] { ++changes; });
  std::vector<uint64_t> saved;
  bool fail = false;
  auto save = [&](const JobRecord& r, std::string* etag) {
    if (fail) return Status::Unavailable("store down");
    saved.push_back(r.snapshot.version);
    EXPECT_EQ(*etag, saved.size() == 1 ? "" : "\"v" + std::to_string(saved.size() - 1) + "\"");
    *etag = "\"v" + std::to_string(saved.size()) + "\"";
    return Status::OK();
  };
  ASSERT_TRUE(job.Persist(save).ok());
  ASSERT_TRUE(job.Persist(save).ok());  // nothing new: not written again
  EXPECT_EQ(saved, (std::vector<uint64_t>{1}));
  Cover c;
  c.index = 1;
  c.stage = CoverStage::kDone;
  job.SetCover(c);
  EXPECT_EQ(changes, 1);
  fail = true;
  EXPECT_FALSE(job.Persist(save).ok());
  fail = false;
  job.Fail({"function_down", "down"});
  ASSERT_TRUE(job.Persist(save).ok());  // the newest state, over the last saved version
  EXPECT_EQ(saved, (std::vector<uint64_t>{1, 3}));

  JobRecord record = job.Record();
  ASSERT_TRUE(record.finished_at);
  auto copy = Job::FromRecord(record);
  EXPECT_EQ(copy->Snapshot().stage, JobStage::kFailed);
  EXPECT_EQ(copy->Snapshot().covers[1].stage, CoverStage::kDone);
  ASSERT_TRUE(copy->finished_at());
  EXPECT_LT(std::chrono::steady_clock::now() - *copy->finished_at(), std::chrono::seconds(5));
}

}  // namespace
}  // namespace sparkify::web::internal
