// Internal: jobs (one collage request each) and their progress, held in memory by the
// replica that runs them and saved to the bucket after each change (job_record.h), from
// where any replica reads them back (Job::FromRecord).
// Job is thread-safe: the runner updates it, API requests read snapshots and wait for changes.
// JobTable is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "layout/layout.h"

namespace sparkify::web::internal {

struct ApiError {
  std::string code;     // "bad_image", "function_down", ...
  std::string message;  // for people; never contains a secret
};

enum class CoverStage { kQueued, kStored, kSegmenting, kDone, kFailed };
enum class JobStage { kRunning, kDone, kFailed };
std::string_view CoverStageName(CoverStage s);
std::string_view JobStageName(JobStage s);

struct Cover {
  int index = 0;     // rank among the job's covers (0 = first / most listened)
  std::string name;  // file name, URL or sample name (shown to the user)
  CoverStage stage = CoverStage::kQueued;
  std::optional<ApiError> error;
  std::string key;            // uploads/<sha256>.<ext> once stored
  int width = 0, height = 0;  // pixel size as displayed (EXIF orientation applied)
  // Once segmented: what to show of it while the collage is made (its cut-out when the mask
  // is a confident subject, else the cover itself).
  std::string preview_key;
  bool preview_cutout = false;
  // A remark for people that is not an error ("the same picture as cover 2: shown once").
  std::string note;
};

struct CollageItem {
  layout::Item item;
  std::string alt;
};

struct Collage {
  uint64_t seed = 0;
  layout::Rgb dominant{0, 0, 0};
  layout::Rgb complementary{255, 255, 255};
  std::vector<layout::Rgb> palette;
  std::vector<CollageItem> items;  // cut-outs first (by rank), then covers
};

struct JobSnapshot {
  std::string id;
  uint64_t version = 0;
  JobStage stage = JobStage::kRunning;
  // While the job waits for a free slot: how many waiting jobs start before it; -1 once it
  // runs (or never waited).
  int waiting_ahead = -1;
  std::optional<ApiError> error;
  std::vector<Cover> covers;
  std::optional<Collage> collage;
};

// A job as the bucket keeps it (job_record.h).
struct JobRecord {
  JobSnapshot snapshot;
  std::optional<int64_t> finished_at;  // Unix seconds, once done or failed
  std::vector<uint64_t> shared;        // seeds whose PNG is in the bucket (share links)
  int64_t saved_at = 0;                // Unix seconds of the write (JobBook::Save sets it)
};

class Job {
 public:
  Job(std::string id, std::vector<Cover> covers);
  // A job from its record (another replica's, or this one's from before a restart).
  static std::shared_ptr<Job> FromRecord(JobRecord record);
  const std::string& id() const { return id_; }

  JobRecord Record() const;
  // `fn` is called after every change, outside the job's lock (the web app saves it then).
  void OnChange(std::function<void()> fn);
  // Saves the job's latest state with `save` (which writes over the version `*etag` names and
  // sets it to the new one), unless that state is saved already (`force`: save it anyway, a
  // heartbeat). One save at a time; a failed one is tried again at the next call.
  Status Persist(const std::function<Status(const JobRecord&, std::string* etag)>& save,
                 bool force = false);

  JobSnapshot Snapshot() const;
  // Blocks until the version passes `seen` or `timeout` passes; returns the snapshot then.
  JobSnapshot WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;

  // Updates (each bumps the version and wakes waiters).
  void SetCover(const Cover& cover);
  void SetWaiting(int ahead);  // -1: it runs
  void Finish(Collage collage);
  void Fail(ApiError error);
  // When the job finished (done or failed); nullopt while it runs.
  std::optional<std::chrono::steady_clock::time_point> finished_at() const;
  // A new seed for the collage; false when there is no collage yet.
  bool Reseed(uint64_t seed, Collage* out);
  // Remembers that the PNG of `seed` is in the bucket; false if it already was.
  bool MarkShared(uint64_t seed);
  bool IsShared(uint64_t seed) const;

 private:
  void Bump();
  void Changed();  // runs on_change_; REQUIRES: mu_ not held
  const std::string id_;
  std::function<void()> on_change_;  // set before the job is shared
  std::optional<int64_t> finished_unix_;
  std::mutex save_mu_;  // one Persist at a time; guards the two below
  std::string saved_etag_;
  uint64_t saved_version_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  JobSnapshot state_;
  std::optional<std::chrono::steady_clock::time_point> finished_at_;
  std::vector<uint64_t> shared_;
};

class JobTable {
 public:
  // Keeps at most `max_jobs` jobs, and a finished job at most `finished_ttl` after it ended
  // (its page then answers 404). Running jobs are never dropped.
  JobTable(size_t max_jobs, std::chrono::seconds finished_ttl)
      : max_jobs_(max_jobs), finished_ttl_(finished_ttl) {}
  // A job with a fresh random id, not yet in the table (Add it once it has started, so a
  // refused job never takes a place).
  static std::shared_ptr<Job> NewJob(std::vector<Cover> covers);
  // Adds `job`; then drops finished jobs past the TTL, and the oldest finished ones beyond
  // max_jobs.
  void Add(std::shared_ptr<Job> job);
  // nullptr when unknown or finished longer than the TTL ago.
  std::shared_ptr<Job> Find(const std::string& id) const;
  size_t size() const;

 private:
  bool Expired(const Job& job, std::chrono::steady_clock::time_point now) const;
  size_t max_jobs_;
  std::chrono::seconds finished_ttl_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::string> order_;
};

}  // namespace sparkify::web::internal
