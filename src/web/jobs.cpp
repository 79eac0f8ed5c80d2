#include "web/internal/jobs.h"

#include <algorithm>

#include "common/clock.h"
#include "common/crypto.h"

namespace sparkify::web::internal {

std::string_view CoverStageName(CoverStage s) {
  switch (s) {
    case CoverStage::kQueued:
      return "queued";
    case CoverStage::kStored:
      return "stored";
    case CoverStage::kSegmenting:
      return "segmenting";
    case CoverStage::kDone:
      return "done";
    case CoverStage::kFailed:
      return "failed";
  }
  return "queued";
}

std::string_view JobStageName(JobStage s) {
  switch (s) {
    case JobStage::kRunning:
      return "running";
    case JobStage::kDone:
      return "done";
    case JobStage::kFailed:
      return "failed";
  }
  return "running";
}

Job::Job(std::string id, std::vector<Cover> covers) : id_(std::move(id)) {
  state_.id = id_;
  state_.version = 1;
  state_.covers = std::move(covers);
}

std::shared_ptr<Job> Job::FromRecord(JobRecord record) {
  auto job = std::make_shared<Job>(record.snapshot.id, std::vector<Cover>{});
  job->state_ = std::move(record.snapshot);
  job->shared_ = std::move(record.shared);
  job->finished_unix_ = record.finished_at;
  if (record.finished_at) {
    // On this replica's steady clock: as long ago as the record says.
    const int64_t ago =
        std::max<int64_t>(0, ToUnixSeconds(Clock::System().Now()) - *record.finished_at);
    job->finished_at_ = std::chrono::steady_clock::now() - std::chrono::seconds(ago);
  }
  return job;
}

JobRecord Job::Record() const {
  std::lock_guard lock(mu_);
  return JobRecord{state_, finished_unix_, shared_};
}

void Job::OnChange(std::function<void()> fn) { on_change_ = std::move(fn); }

void Job::Changed() {
  if (on_change_) on_change_();
}

Status Job::Persist(const std::function<Status(const JobRecord&, std::string* etag)>& save,
                    bool force) {
  std::lock_guard saving(save_mu_);
  JobRecord record = Record();
  if (record.snapshot.version <= saved_version_ && !force) return Status::OK();
  std::string etag = saved_etag_;
  SPARKIFY_RETURN_IF_ERROR(save(record, &etag));
  saved_etag_ = std::move(etag);
  saved_version_ = record.snapshot.version;
  return Status::OK();
}

JobSnapshot Job::Snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

JobSnapshot Job::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return state_.version > seen; });
  return state_;
}

void Job::Bump() {
  ++state_.version;
  cv_.notify_all();
}

void Job::SetWaiting(int ahead) {
  {
    std::lock_guard lock(mu_);
    if (state_.waiting_ahead == ahead) return;
    state_.waiting_ahead = ahead;
    Bump();
  }
  Changed();
}

void Job::SetCover(const Cover& cover) {
  {
    std::lock_guard lock(mu_);
    if (cover.index < 0 || static_cast<size_t>(cover.index) >= state_.covers.size()) return;
    state_.covers[static_cast<size_t>(cover.index)] = cover;
    Bump();
  }
  Changed();
}

void Job::Finish(Collage collage) {
  {
    std::lock_guard lock(mu_);
    state_.collage = std::move(collage);
    state_.stage = JobStage::kDone;
    finished_at_ = std::chrono::steady_clock::now();
    finished_unix_ = ToUnixSeconds(Clock::System().Now());
    Bump();
  }
  Changed();
}

void Job::Fail(ApiError error) {
  {
    std::lock_guard lock(mu_);
    state_.error = std::move(error);
    state_.stage = JobStage::kFailed;
    if (!finished_at_) finished_at_ = std::chrono::steady_clock::now();
    if (!finished_unix_) finished_unix_ = ToUnixSeconds(Clock::System().Now());
    Bump();
  }
  Changed();
}

std::optional<std::chrono::steady_clock::time_point> Job::finished_at() const {
  std::lock_guard lock(mu_);
  return finished_at_;
}

bool Job::Reseed(uint64_t seed, Collage* out) {
  {
    std::lock_guard lock(mu_);
    if (!state_.collage) return false;
    state_.collage->seed = seed;
    *out = *state_.collage;
    Bump();
  }
  Changed();
  return true;
}

bool Job::MarkShared(uint64_t seed) {
  {
    std::lock_guard lock(mu_);
    if (std::find(shared_.begin(), shared_.end(), seed) != shared_.end()) return false;
    shared_.push_back(seed);
    Bump();  // the record changes (a share link's picture is kept)
  }
  Changed();
  return true;
}

bool Job::IsShared(uint64_t seed) const {
  std::lock_guard lock(mu_);
  return std::find(shared_.begin(), shared_.end(), seed) != shared_.end();
}

std::shared_ptr<Job> JobTable::NewJob(std::vector<Cover> covers) {
  return std::make_shared<Job>(HexEncode(RandomBytes(12)), std::move(covers));
}

bool JobTable::Expired(const Job& job, std::chrono::steady_clock::time_point now) const {
  auto finished = job.finished_at();
  return finished && now - *finished >= finished_ttl_;
}

void JobTable::Add(std::shared_ptr<Job> job) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  order_.push_back(job->id());
  jobs_[job->id()] = std::move(job);
  // Oldest first: drop the expired, and beyond the cap the finished.
  for (auto it = order_.begin(); it != order_.end();) {
    auto found = jobs_.find(*it);
    bool drop = found == jobs_.end();
    if (!drop) {
      drop = Expired(*found->second, now) ||
             (jobs_.size() > max_jobs_ && found->second->finished_at().has_value());
    }
    if (drop) {
      if (found != jobs_.end()) jobs_.erase(found);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<Job> JobTable::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || Expired(*it->second, std::chrono::steady_clock::now())) return nullptr;
  return it->second;
}

size_t JobTable::size() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

}  // namespace sparkify::web::internal
