// Internal: runs jobs in the background. Per cover, up to segment_concurrency at once: get the
// bytes (uploaded, fetched from a URL with the SSRF-safe fetcher, or a sample file), check
// them, store them under uploads/, and invoke {"op":"segment","keys":[key]}. Then one
// {"op":"collage","keys":[...],"options":{"seed":N}} invoke, whose cut-outs are already in the
// bucket, gives the colours and which covers are cut out.
// Thread-safe; the destructor waits for running jobs.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "function/fetcher.h"
#include "web/bucket.h"
#include "web/invoke_client.h"
#include "web/jobs.h"
#include "web/web.h"

namespace sparkify::web::internal {

// One cover to get: exactly one of bytes (uploaded; `upload` then keeps the whole request body
// that `bytes` points into, so the files are not copied), url, or path (a sample file); or
// `refused`: a cover already turned down when the request came (a file that is not an image,
// too large...), shown failed with that reason while the others go on.
struct CoverSource {
  std::string name;
  std::string_view bytes;
  std::string url;
  std::string path;
  std::shared_ptr<const std::string> upload;
  std::optional<ApiError> refused;
};

class Runner {
 public:
  Runner(const WebOptions& options, Bucket* bucket, InvokeClient* invoker);
  ~Runner();

  // Starts `job` in the background. ResourceExhausted when max_running_jobs already run.
  // `hold` is kept until the job ends (a client's running-job slot).
  Status Start(std::shared_ptr<Job> job, std::vector<CoverSource> sources, uint64_t seed,
               std::shared_ptr<void> hold = nullptr);
  // Wait for running jobs (no new ones may be started after).
  void Stop();

 private:
  void Run(const std::shared_ptr<Job>& job, std::vector<CoverSource>& sources, uint64_t seed);
  void ProcessCover(Job& job, Cover cover, CoverSource& source);
  Result<std::string> Obtain(CoverSource& source);
  // fetcher_->Fetch(url); the fetcher watches stopping_, so a slow image server does not
  // hold a stop for the fetch's 20 s (Unavailable "The server is stopping.").
  Result<std::string> FetchUnlessStopping(const std::string& url);
  void MakeCollage(Job& job, uint64_t seed);

  const WebOptions& options_;
  Bucket* bucket_;
  InvokeClient* invoker_;
  std::unique_ptr<function::HttpFetcher> fetcher_;  // cancelled by stopping_
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::vector<Worker> workers_;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};  // running jobs end early
};

}  // namespace sparkify::web::internal
