// Jobs any replica serves: each change of a job running here is saved to the bucket
// (jobs/<id>.json, conditional PUTs), and a job is read back from there when this replica
// does not hold its newest version.
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/log_sample.h"
#include "web/internal/app.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

// A running (or waiting) job's record is saved at least every minute by the replica making it
// (a heartbeat); one untouched for this long was left by a replica that stopped.
constexpr int64_t kOrphanSeconds = 10 * 60;  // ten heartbeats (JobSaver::kHeartbeat)
constexpr uint64_t kOrphanVersionStep = uint64_t{1} << 32;

}  // namespace

Status App::PersistJob(Job& job, bool force) {
  Status s;
  try {
    s = job.Persist(
        [this](const JobRecord& record, std::string* etag) {
          Status saved = book_.Save(record, etag);
          const auto error = s3client::S3ErrorOf(saved);
          const bool gone = error && error->code == "NoSuchKey";  // If-Match on a deleted record
          if (saved.code() != Status::Code::kFailedPrecondition && !gone) return saved;
          // The record changed since this replica's last save (or that save's answer was
          // lost, or the record was deleted). While the job runs only this replica writes its
          // state, so it writes over what is there; once the record says the job ended, other
          // replicas change it (new layouts, shares) and it is theirs: left as it is.
          auto stored = book_.Load(record.snapshot.id);
          if (!stored.ok()) return stored.status();
          if (*stored && (*stored)->record.snapshot.stage != JobStage::kRunning) {
            *etag = (*stored)->etag;
            return Status::OK();
          }
          *etag = *stored ? (*stored)->etag : "";
          return book_.Save(record, etag);
        },
        force);
  } catch (const std::exception& e) {  // never into the job's callers (the runner's threads)
    s = Status::Internal(e.what());
  }
  if (!s.ok()) {
    if (const uint64_t n = SampledOccurrence(save_failures_)) {
      spdlog::warn(
          "web: job {}: cannot save it to the bucket ({} so far; other replicas do not "
          "see it; tried again): {}",
          job.id(), n, s.message());
    }
  }
  return s;
}

Result<std::optional<App::FoundJob>> App::FindJob(const std::string& id) {
  std::shared_ptr<Job> local = jobs_.Find(id);
  std::optional<JobSnapshot> mine;
  if (local) mine = local->Snapshot();
  if (mine && mine->stage == JobStage::kRunning) return std::optional<FoundJob>({local, false});
  auto stored = book_.Load(id);
  if (!stored.ok()) {
    spdlog::warn("web: job {}: cannot read its record: {}", id, stored.status().message());
    if (local) return std::optional<FoundJob>({local, false});
    return stored.status();
  }
  // This replica's finished job whose record still says running: its last saves have not
  // landed (they are being tried again); what it holds is newer.
  const bool unsaved = mine && *stored && (*stored)->record.snapshot.stage == JobStage::kRunning;
  if (*stored && !unsaved) {
    JobRecord& record = (*stored)->record;
    // A job saved as running that no replica has touched for long: the replica making it
    // stopped without a word (a crash). Shown failed; nobody will finish it.
    const int64_t now = ToUnixSeconds(Clock::System().Now());
    if (record.snapshot.stage == JobStage::kRunning && now - record.saved_at > kOrphanSeconds) {
      record.snapshot.stage = JobStage::kFailed;
      record.snapshot.waiting_ahead = -1;
      record.snapshot.error = ApiError{
          "server_stopped",
          "The server that was making this collage stopped before it finished. Please make it "
          "again."};
      record.finished_at = record.saved_at;
      record.snapshot.version += kOrphanVersionStep;  // above any version a stream has seen
    }
    std::shared_ptr<Job> job = Job::FromRecord(std::move(record));
    auto finished = job->finished_at();
    if (finished && std::chrono::steady_clock::now() - *finished >=
                        std::chrono::seconds(std::max<int64_t>(1, options_.finished_job_seconds))) {
      return std::optional<FoundJob>();
    }
    return std::optional<FoundJob>({std::move(job), true});
  }
  if (local) {
    saver_.Mark(local);  // newer here than in the bucket: a save failed before
    return std::optional<FoundJob>({local, false});
  }
  return std::optional<FoundJob>();
}

Status App::UpdateRecord(const std::string& id, const std::function<bool(JobRecord&)>& change) {
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    SPARKIFY_ASSIGN_OR_RETURN(auto stored, book_.Load(id));
    if (!stored) return Status::NotFound("the job's record is gone");
    if (!change(stored->record)) return Status::OK();
    ++stored->record.snapshot.version;
    Status s = book_.Save(stored->record, &stored->etag);
    if (s.code() != Status::Code::kFailedPrecondition) return s;
  }
  return Status::Unavailable("the job's record keeps changing; try again");
}

http::Response App::NoJob(const Status& status) {
  if (status.ok()) return ErrorResponse(404, "not_found", "No such job.");
  return ErrorResponse(502, "store_error", "Cannot read the job from the image store.");
}

}  // namespace sparkify::web::internal
