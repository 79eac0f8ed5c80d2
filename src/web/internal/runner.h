// Internal: runs jobs in the background. Per cover, up to segment_concurrency at once: get the
// bytes (uploaded, fetched from a URL with the SSRF-safe fetcher, or a sample file), check
// them, store them under uploads/, and invoke {"op":"segment","keys":[key]}. Then one
// {"op":"collage","keys":[...],"options":{"seed":N}} invoke, whose cut-outs are already in the
// bucket, gives the colours and which covers are cut out.
// Jobs beyond max_running_jobs wait in a fair queue: when a slot frees, the next job is the
// oldest waiting one of the client with the fewest jobs running, so a client with many jobs
// cannot make the others wait behind all of them.
// Thread-safe; the destructor waits for running jobs (waiting ones fail as shutting_down).
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fetch/fetcher.h"
#include "web/internal/bucket.h"
#include "web/internal/invoke_client.h"
#include "web/internal/jobs.h"
#include "web/web.h"

namespace sparkify::web::internal {

// One cover to get: exactly one of bytes (uploaded; `upload` then keeps the whole request body
// that `bytes` points into, so the files are not copied), url, path (a sample file), or
// stored_key (sent by the browser straight to the bucket: checked there, never read whole);
// or `refused`: a cover already turned down when the request came (a file that is not an
// image, too large...), shown failed with that reason while the others go on.
struct CoverSource {
  std::string name;
  std::string_view bytes;
  std::string url;
  std::string path;
  std::shared_ptr<const std::string> upload;
  std::optional<ApiError> refused;
  std::string stored_key;
};

class Runner {
 public:
  Runner(const WebOptions& options, Bucket* bucket, InvokeClient* invoker);
  ~Runner();

  // Starts `job` in the background for `client`, or queues it (the job's waiting_ahead says
  // where) when max_running_jobs already run. ResourceExhausted when max_queued_jobs
  // already wait too. `hold` is kept until the job ends (a client's running-job slot).
  Status Start(std::shared_ptr<Job> job, std::vector<CoverSource> sources, uint64_t seed,
               std::string client = "", std::shared_ptr<void> hold = nullptr);
  // Fails the waiting jobs and waits for the running ones (no new ones may be started after).
  void Stop();

 private:
  struct Pending {
    std::shared_ptr<Job> job;
    std::vector<CoverSource> sources;
    uint64_t seed = 0;
    std::string client;
    std::shared_ptr<void> hold;
    uint64_t upload_bytes = 0;  // the request body its uploaded covers are in
  };
  // Starts a thread for `p`; false (and `p` untouched) when no thread can be made.
  bool LaunchLocked(Pending& p, std::string* why);
  // A slot is free: starts the fairest waiting job, and tells the others their place.
  void StartNextLocked();
  void TellPlacesLocked();
  void ReapLocked();  // joins the threads of finished jobs
  void Run(const std::shared_ptr<Job>& job, std::vector<CoverSource>& sources, uint64_t seed);
  void ProcessCover(Job& job, Cover cover, CoverSource& source);
  Result<std::string> Obtain(CoverSource& source);
  // Gets the cover into the bucket (or checks it there) and fills in its key and size; the
  // reason when it cannot be used.
  std::optional<ApiError> Ingest(CoverSource& source, Cover* cover);
  // fetcher_->Fetch(url); the fetcher watches stopping_, so a slow image server does not
  // hold a stop for the fetch's 20 s (Unavailable "The server is stopping.").
  Result<std::string> FetchUnlessStopping(const std::string& url);
  void MakeCollage(Job& job, uint64_t seed);

  const WebOptions& options_;
  Bucket* bucket_;
  InvokeClient* invoker_;
  std::unique_ptr<fetch::HttpFetcher> fetcher_;  // cancelled by stopping_
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::vector<Worker> workers_;
  std::deque<Pending> waiting_;  // in arrival order
  std::map<std::string, int> running_by_client_;
  int running_ = 0;
  uint64_t waiting_bytes_ = 0;  // upload_bytes of the waiting jobs
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};  // running jobs end early
};

}  // namespace sparkify::web::internal
