// Internal: a job as the bucket keeps it (jobs/<id>.json), so that any replica of the web app
// can serve it and it outlives the replica that made it. The record holds keys, never signed
// URLs (those are made afresh for each answer), and is written with conditional PUTs: a
// writer names the version (ETag) it read, and loses to any write since (JobBook::Save).
//
// JobRecordJson/ParseJobRecord are pure; JobBook is thread-safe (Bucket is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

}  // namespace sparkify::web::internal
