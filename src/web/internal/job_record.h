// Internal: a job as the bucket keeps it (jobs/<id>.json), so that any replica of the web app
// can serve it and it outlives the replica that made it. The record holds keys, never signed
// URLs (those are made afresh for each answer), and is written with conditional PUTs: a
// writer names the version (ETag) it read, and loses to any write since (JobBook::Save).
//
// JobRecordJson/ParseJobRecord are pure; JobBook is thread-safe (Bucket is).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "web/internal/bucket.h"
#include "web/internal/jobs.h"

namespace sparkify::web::internal {

// {"format": 1, "id", "version", "state", "covers": [...], "collage": {...} | null, ...}
std::string JobRecordJson(const JobRecord& record);
// InvalidArgument (naming what is wrong) when `text` is not a record of this format: it comes
// from the bucket, which others may write to.
Result<JobRecord> ParseJobRecord(std::string_view text);

// "jobs/<id>.json"
std::string JobRecordKey(const std::string& job_id);

class JobBook {
 public:
  explicit JobBook(Bucket* bucket) : bucket_(bucket) {}

  struct Stored {
    JobRecord record;
    std::string etag;  // the version read: pass it to Save to write over it
  };
  // The record of job `id`; nullopt when the bucket has none.
  Result<std::optional<Stored>> Load(const std::string& id);
  // Writes `record` (stamped with the time as saved_at): a new one when `*etag` is empty
  // (refused if one exists), else over the version `*etag` names; `*etag` becomes the new
  // version. FailedPrecondition when another
  // writer came first (Load again, apply the change, Save again).
  Status Save(const JobRecord& record, std::string* etag);

 private:
  Bucket* bucket_;
};

// Saves jobs in the background on one thread, so that no store call happens in a request or
// under anyone's lock: a change marks its job (cheap, from any thread, under any lock); the
// thread saves each marked job's newest state, tries failed saves again every few seconds,
// and saves watched (running) jobs every minute even without a change, so that their record's
// saved_at shows a live replica. Thread-safe.
class JobSaver {
 public:
  // `save(job, force)`: Job::Persist with the caller's writer.
  using SaveFn = std::function<Status(Job& job, bool force)>;
  explicit JobSaver(SaveFn save);
  ~JobSaver();  // Stop(0 s)

  void Mark(const std::shared_ptr<Job>& job);
  // Saved every minute while it runs.
  void Watch(const std::shared_ptr<Job>& job);
  // Ends the thread, after one more try for each job still to save (until `deadline` has
  // passed). Idempotent.
  void Stop(std::chrono::seconds deadline);

  static constexpr std::chrono::seconds kHeartbeat{60};
  static constexpr std::chrono::seconds kRetry{3};
  static constexpr int kMaxRetries = 20;

 private:
  void Loop();

  SaveFn save_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> dirty_;
  // Tried again every kRetry, kMaxRetries times in a row at most (a later change marks the
  // job again): a store that refuses for good (an old policy) does not keep every job alive.
  std::map<std::string, std::pair<std::shared_ptr<Job>, int>> failed_;
  std::vector<std::weak_ptr<Job>> watched_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sparkify::web::internal
