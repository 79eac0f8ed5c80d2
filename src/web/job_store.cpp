// Jobs any replica serves: each change of a job running here is saved to the bucket
// (jobs/<id>.json, conditional PUTs), and a job is read back from there when this replica
// does not hold its newest version.
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "web/internal/app.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

// A running job's record changes at least at every cover (an invoke ends within its 330 s
// timeout); one untouched for this long was left by a replica that stopped.
constexpr int64_t kOrphanSeconds = 15 * 60;

}  // namespace

void App::PersistJob(Job& job) {
  Status s = job.Persist([this](const JobRecord& record, std::string* etag) {
    Status saved = book_.Save(record, etag);
    if (saved.code() != Status::Code::kFailedPrecondition) return saved;
    // The record changed since this replica's last save (or that save's answer was lost):
    // this replica holds the newer state, so it writes over the version there now.
    auto stored = book_.Load(record.snapshot.id);
    if (!stored.ok()) return stored.status();
    *etag = *stored ? (*stored)->etag : "";
    return book_.Save(record, etag);
  });
  if (!s.ok()) {
    const uint64_t n = ++save_failures_;
    if (n <= 10 || n % 100 == 0) {
      spdlog::warn(
          "web: job {}: cannot save it to the bucket ({} so far; other replicas do not "
          "see it): {}",
          job.id(), n, s.message());
    }
  }
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
  if (*stored && !(mine && mine->version > (*stored)->record.snapshot.version)) {
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
      ++record.snapshot.version;
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
    PersistJob(*local);  // newer here than in the bucket: a save failed before
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
