// Runner stopping while a cover's URL fetch hangs: the stop does not wait for the fetch, and
// the job says shutting_down (not fetch_failed or function_down).
#include "web/runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "http/http.h"

namespace sparkify::web::internal {
namespace {

TEST(RunnerStop, AHangingFetchDoesNotHoldTheStopAndTheJobSaysShuttingDown) {
  std::mutex mu;
  std::condition_variable cv;
  bool asked = false, released = false;
  auto server = http::Server::Start({}, [&](http::Request&) {
    std::unique_lock lock(mu);
    asked = true;
    cv.notify_all();
    // Holds the answer until the test is over (bounded, so a broken stop fails, not hangs).
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; });
    return http::Response{};
  });
  ASSERT_TRUE(server.ok()) << server.status().message();

  WebOptions options;
  options.s3_endpoint = "http://127.0.0.1:1";  // never reached: nothing gets stored
  options.credentials = {"AKIDRUNNERTEST", "runner-test-secret", ""};
  options.function.url = "http://127.0.0.1:1";
  options.allow_private_fetch = true;
  Bucket bucket(options);
  InvokeClient invoker(options.function, options.credentials);
  auto job = JobTable::NewJob({Cover{}});
  {
    Runner runner(options, &bucket, &invoker);
    CoverSource source;
    source.name = "slow.png";
    source.url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/slow.png";
    std::vector<CoverSource> sources;
    sources.push_back(std::move(source));
    ASSERT_TRUE(runner.Start(job, std::move(sources), 1).ok());
    {
      std::unique_lock lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return asked; }));
    }
    auto started = std::chrono::steady_clock::now();
    runner.Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  }
  JobSnapshot snap = job->Snapshot();
  EXPECT_EQ(snap.stage, JobStage::kFailed);
  ASSERT_TRUE(snap.error);
  EXPECT_EQ(snap.error->code, "shutting_down");
  ASSERT_TRUE(snap.covers[0].error);
  EXPECT_EQ(snap.covers[0].error->code, "shutting_down");
  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
}

}  // namespace
}  // namespace sparkify::web::internal
