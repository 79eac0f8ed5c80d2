// Runner stopping while a cover's URL fetch hangs: the stop does not wait for the fetch, and
// the job says shutting_down (not fetch_failed or function_down).
#include "web/internal/runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <map>
#include <set>

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


// An image server whose answers wait until the test releases them, one path at a time.
class GatedImages {
 public:
  GatedImages() {
    auto server = http::Server::Start({}, [this](http::Request& req) {
      std::unique_lock lock(mu_);
      asked_.push_back(req.path);
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(20), [&] { return released_.count(req.path) > 0; });
      return http::Response{};  // not an image: the cover fails and the job ends
    });
    EXPECT_TRUE(server.ok());
    server_ = std::move(*server);
  }
  ~GatedImages() {
    {
      std::lock_guard lock(mu_);
      released_.insert("*");
      for (const auto& p : asked_) released_.insert(p);
    }
    cv_.notify_all();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  bool AwaitAsked(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return asked_.size() >= n; });
  }
  std::vector<std::string> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }
  void Release(const std::string& path) {
    std::lock_guard lock(mu_);
    released_.insert(path);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> asked_;
  std::set<std::string> released_;
  std::unique_ptr<http::Server> server_;
};

// Two slots, both taken by client a, which also has two jobs waiting; client b's job, which
// came last, is the next to start, and every waiting job knows its place.
TEST(RunnerQueue, TheNextSlotGoesToTheClientWithTheFewestJobsRunning) {
  GatedImages images;
  WebOptions options;
  options.s3_endpoint = "http://127.0.0.1:1";
  options.credentials = {"AKIDRUNNERTEST", "runner-test-secret", ""};
  options.function.url = "http://127.0.0.1:1";
  options.allow_private_fetch = true;
  options.max_running_jobs = 2;
  options.max_queued_jobs = 3;
  Bucket bucket(options);
  InvokeClient invoker(options.function, options.credentials);
  Runner runner(options, &bucket, &invoker);
  std::map<std::string, std::shared_ptr<Job>> jobs;
  auto start = [&](const std::string& name, const std::string& client) {
    jobs[name] = JobTable::NewJob({Cover{}});
    CoverSource source;
    source.name = name;
    source.url = images.Url("/" + name);
    std::vector<CoverSource> sources;
    sources.push_back(std::move(source));
    return runner.Start(jobs[name], std::move(sources), 1, client);
  };
  ASSERT_TRUE(start("a1", "a").ok());
  ASSERT_TRUE(start("a2", "a").ok());
  ASSERT_TRUE(images.AwaitAsked(2));
  ASSERT_TRUE(start("a3", "a").ok());
  ASSERT_TRUE(start("a4", "a").ok());
  ASSERT_TRUE(start("b1", "b").ok());
  EXPECT_EQ(start("b2", "b").code(), Status::Code::kResourceExhausted) << "the queue is full";
  EXPECT_EQ(jobs["a1"]->Snapshot().waiting_ahead, -1);
  EXPECT_EQ(jobs["b1"]->Snapshot().waiting_ahead, 0);
  EXPECT_EQ(jobs["a3"]->Snapshot().waiting_ahead, 1);
  EXPECT_EQ(jobs["a4"]->Snapshot().waiting_ahead, 2);

  images.Release("/a1");
  ASSERT_TRUE(images.AwaitAsked(3));
  EXPECT_EQ(images.asked()[2], "/b1");
  EXPECT_EQ(jobs["b1"]->Snapshot().waiting_ahead, -1);
  EXPECT_EQ(jobs["a3"]->Snapshot().waiting_ahead, 0);
  images.Release("/a2");
  ASSERT_TRUE(images.AwaitAsked(4));
  EXPECT_EQ(images.asked()[3], "/a3");

  runner.Stop();  // a4 was still waiting: it fails as shutting_down
  JobSnapshot a4 = jobs["a4"]->Snapshot();
  EXPECT_EQ(a4.stage, JobStage::kFailed);
  ASSERT_TRUE(a4.error);
  EXPECT_EQ(a4.error->code, "shutting_down");
}

}  // namespace
}  // namespace sparkify::web::internal
