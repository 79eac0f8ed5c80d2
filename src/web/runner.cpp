#include "web/internal/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "common/files.h"
#include "web/internal/collage_answer.h"
#include "web/internal/ingest.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

// `stopping`: the server stops, which cancels invokes (not the function's fault).
// The function's address and its transport's words go to the log, not to the page.
ApiError InvokeError(const Status& s, bool stopping) {
  if (stopping) return {"shutting_down", "The server is stopping."};
  if (s.code() == Status::Code::kUnavailable) {
    spdlog::warn("web: invoke: {}", s.message());
    return {"function_down", "The AI function is down right now; try again in a moment."};
  }
  return {"function_error", s.message()};
}

ApiError FetchError(const Status& s) {
  std::string why = s.message();
  if (s.code() == Status::Code::kResourceExhausted)
    return {"too_large", "The image is too large: " + why};
  // The fetcher's refusals ("refused: 10.0.0.5 is a private address; ...") as a sentence.
  constexpr std::string_view kRefused = "refused: ";
  if (why.starts_with(kRefused))
    return {"fetch_failed", "Not fetched: " + why.substr(kRefused.size()) + "."};
  return {"fetch_failed", "Could not get the image: " + why + "."};
}

// The fair pick among waiting jobs [begin, end), oldest first: the first whose client has
// the fewest jobs running. `client` gives an element's client.
template <class It, class ClientOf>
It Fairest(It begin, It end, const std::map<std::string, int>& running, ClientOf client) {
  It next = begin;
  int fewest = INT32_MAX;
  for (It it = begin; it != end; ++it) {
    auto r = running.find(client(*it));
    int n = r == running.end() ? 0 : r->second;
    if (n < fewest) {
      fewest = n;
      next = it;
    }
  }
  return next;
}

}  // namespace

Runner::Runner(const WebOptions& options, Bucket* bucket, InvokeClient* invoker)
    : options_(options), bucket_(bucket), invoker_(invoker) {
  fetch::FetchOptions fetch;
  fetch.max_bytes = options.max_file_bytes;
  fetch.allow_private = options.allow_private_fetch;
  fetch.user_agent = "sparkify-web/0.1";
  fetch.cancel = &stopping_;  // a stop ends fetches in progress
  fetcher_ = std::make_unique<fetch::HttpFetcher>(fetch);
}

Runner::~Runner() { Stop(); }

void Runner::Stop() {
  std::vector<Worker> workers;
  std::deque<Pending> waiting;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    stopping_ = true;
    workers.swap(workers_);
    waiting.swap(waiting_);
    waiting_bytes_ = 0;
  }
  for (Pending& p : waiting) p.job->Fail({"shutting_down", "The server is stopping."});
  waiting.clear();  // releases the clients' slots
  for (auto& w : workers) w.thread.join();
}

void Runner::ReapLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Runner::Start(std::shared_ptr<Job> job, std::vector<CoverSource> sources, uint64_t seed,
                     std::string client, std::shared_ptr<void> hold) {
  std::lock_guard lock(mu_);
  if (stopped_) return Status::Unavailable("The server is stopping.");
  // Join the threads of finished jobs (a finished thread keeps its stack until joined).
  ReapLocked();
  Pending p{std::move(job), std::move(sources), seed, std::move(client), std::move(hold)};
  for (const CoverSource& c : p.sources) {
    if (c.upload) p.upload_bytes = std::max<uint64_t>(p.upload_bytes, c.upload->size());
  }
  if (running_ < options_.max_running_jobs) {
    std::string why;
    if (LaunchLocked(p, &why)) return Status::OK();
    return Status::ResourceExhausted("Cannot start the job now (" + why +
                                     "); try again in a minute.");
  }
  if (static_cast<int>(waiting_.size()) >= options_.max_queued_jobs ||
      waiting_bytes_ + p.upload_bytes > options_.max_inflight_upload_bytes) {
    return Status::ResourceExhausted(
        "Too many collages are being made right now; try again in a minute.");
  }
  waiting_bytes_ += p.upload_bytes;
  waiting_.push_back(std::move(p));
  TellPlacesLocked();
  return Status::OK();
}

bool Runner::LaunchLocked(Pending& p, std::string* why) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread;
  try {
    thread = std::thread([this, job = p.job, sources = std::move(p.sources), seed = p.seed,
                          client = p.client, done, hold = std::move(p.hold)]() mutable {
      // The job's boundary: nothing a job meets (an odd answer, no memory) may end the process.
      try {
        Run(job, sources, seed);
      } catch (const std::exception& e) {
        spdlog::error("web: job {}: {}", job->id(), e.what());
        job->Fail({"function_error", std::string("The collage could not be made: ") + e.what()});
      } catch (...) {
        job->Fail({"function_error", "The collage could not be made."});
      }
      hold.reset();
      {
        std::lock_guard lock(mu_);
        --running_;
        if (--running_by_client_[client] <= 0) running_by_client_.erase(client);
        StartNextLocked();
      }
      done->store(true);
    });
  } catch (const std::system_error& e) {
    *why = e.what();
    return false;
  }
  p.job->SetWaiting(-1);
  ++running_;
  ++running_by_client_[p.client];
  workers_.push_back(Worker{std::move(thread), done});
  return true;
}

void Runner::StartNextLocked() {
  while (!stopped_ && !waiting_.empty() && running_ < options_.max_running_jobs) {
    auto next = Fairest(waiting_.begin(), waiting_.end(), running_by_client_,
                        [](const Pending& w) -> const std::string& { return w.client; });
    Pending p = std::move(*next);
    waiting_.erase(next);
    waiting_bytes_ -= p.upload_bytes;
    std::string why;
    if (!LaunchLocked(p, &why)) {
      p.job->Fail({"busy", "Cannot start the job now (" + why + "); try again in a minute."});
    }
  }
  TellPlacesLocked();
}

// A waiting job's place: the jobs that start before it if nobody else arrives. That is the
// order StartNextLocked would pick them in; simulated on a copy of the running counts.
void Runner::TellPlacesLocked() {
  std::map<std::string, int> running = running_by_client_;
  std::vector<const Pending*> left;
  for (const Pending& p : waiting_) left.push_back(&p);
  int place = 0;
  while (!left.empty()) {
    auto next = Fairest(left.begin(), left.end(), running,
                        [](const Pending* w) -> const std::string& { return w->client; });
    (*next)->job->SetWaiting(place++);
    ++running[(*next)->client];
    left.erase(next);
  }
}

Result<std::string> Runner::FetchUnlessStopping(const std::string& url) {
  auto fetched = fetcher_->Fetch(url);
  if (stopping_) return Status::Unavailable("The server is stopping.");
  if (!fetched.ok()) return fetched.status();
  return std::move(fetched->body);
}

Result<std::string> Runner::Obtain(CoverSource& source) {
  if (!source.url.empty()) return FetchUnlessStopping(source.url);
  if (!source.path.empty()) return ReadFileToString(source.path, options_.max_file_bytes);
  std::string bytes(source.bytes);
  source.bytes = {};
  source.upload.reset();  // the last cover to go frees the request body
  return bytes;
}

std::optional<ApiError> Runner::Ingest(CoverSource& source, Cover* cover) {
  ImageCheck check;
  if (!source.stored_key.empty()) {
    auto inspected = InspectStoredCover(*bucket_, source.stored_key, options_.max_file_bytes);
    if (!inspected.ok()) {
      return ApiError{"store_error",
                      StoreTrouble("Could not read the cover back.", inspected.status(),
                                   "cover " + source.stored_key)};
    }
    check = std::move(*inspected);
    if (!check.status.ok()) return check.error;
    cover->key = source.stored_key;
  } else {
    auto bytes = Obtain(source);
    if (!bytes.ok() && stopping_) return ApiError{"shutting_down", "The server is stopping."};
    if (!bytes.ok()) return FetchError(bytes.status());
    check = CheckImage(*bytes);
    if (!check.status.ok()) return check.error;
    auto key = StoreCover(*bucket_, *bytes, check.info);
    bytes->clear();
    if (!key.ok())
      return ApiError{"store_error", StoreTrouble("Could not store the cover.", key.status(),
                                                  "cover " + std::to_string(cover->index))};
    cover->key = *key;
  }
  cover->width = check.info.width;
  cover->height = check.info.height;
  return std::nullopt;
}

void Runner::ProcessCover(Job& job, Cover cover, CoverSource& source) {
  auto fail = [&](ApiError e) {
    cover.stage = CoverStage::kFailed;
    cover.error = std::move(e);
    job.SetCover(cover);
  };
  if (source.refused) return fail(*source.refused);
  if (stopping_) return fail({"shutting_down", "The server is stopping."});
  if (auto refused = Ingest(source, &cover)) return fail(*refused);
  cover.stage = CoverStage::kStored;
  job.SetCover(cover);

  cover.stage = CoverStage::kSegmenting;
  job.SetCover(cover);
  json event = {{"op", "segment"}, {"keys", json::array({cover.key})}};
  auto answer = invoker_->Invoke(event.dump(), &stopping_);
  if (!answer.ok()) return fail(InvokeError(answer.status(), stopping_));
  if (auto err = SegmentError(*answer)) return fail(*err);
  SegmentPreview preview = PreviewOf(*answer);
  cover.preview_key = preview.cutout ? preview.key : cover.key;
  cover.preview_cutout = preview.cutout;
  cover.stage = CoverStage::kDone;
  job.SetCover(cover);
}

void Runner::Run(const std::shared_ptr<Job>& job, std::vector<CoverSource>& sources,
                 uint64_t seed) {
  std::vector<Cover> covers = job->Snapshot().covers;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < covers.size(); i = next++) {
      try {
        ProcessCover(*job, covers[i], sources[i]);
      } catch (const std::exception& e) {
        spdlog::error("web: job {}: cover {}: {}", job->id(), i, e.what());
        Cover failed = covers[i];
        failed.stage = CoverStage::kFailed;
        failed.error = ApiError{"function_error",
                                std::string("This cover could not be processed: ") + e.what()};
        job->SetCover(failed);
      }
    }
  };
  int n = std::clamp(options_.segment_concurrency, 1, 32);
  std::vector<std::thread> pool;
  for (int i = 1; i < n && static_cast<size_t>(i) < covers.size(); ++i) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error& e) {
      spdlog::warn("web: job {}: runs with {} threads: {}", job->id(), i, e.what());
      break;  // the threads already started (and this one) share the covers
    }
  }
  work();
  for (auto& t : pool) t.join();
  MakeCollage(*job, seed);
}

void Runner::MakeCollage(Job& job, uint64_t seed) {
  JobSnapshot snap = job.Snapshot();
  std::vector<std::string> keys;
  std::optional<ApiError> first_error;
  for (const Cover& c : snap.covers) {
    if (c.stage == CoverStage::kDone) {
      auto same = std::find_if(snap.covers.begin(), snap.covers.end(), [&](const Cover& o) {
        return o.index < c.index && o.stage == CoverStage::kDone && o.key == c.key;
      });
      if (same == snap.covers.end()) {
        keys.push_back(c.key);
      } else {
        Cover noted = c;  // the same file twice: shown once
        noted.note = DuplicateNote(*same);
        job.SetCover(noted);
      }
    } else if (c.error && (!first_error || c.error->code == "function_down")) {
      first_error = c.error;
    }
  }
  if (keys.empty()) {
    if (stopping_) {
      job.Fail({"shutting_down", "The server is stopping."});
    } else if (first_error && first_error->code.starts_with("function_")) {
      job.Fail(*first_error);
    } else {
      job.Fail({"no_usable_covers",
                "None of the covers could be used" +
                    (first_error ? " (" + first_error->message + ")" : std::string("."))});
    }
    return;
  }
  json event = {{"op", "collage"}, {"keys", keys}, {"options", {{"seed", seed}}}};
  auto answer = invoker_->Invoke(event.dump(), &stopping_);
  if (!answer.ok()) {
    job.Fail(InvokeError(answer.status(), stopping_));
    return;
  }
  auto collage = ParseCollageAnswer(*answer, snap.covers, seed);
  if (!collage.ok()) {
    if (auto refused = SegmentError(*answer)) {  // 422: none of the covers was usable
      job.Fail({"no_usable_covers", "None of the covers could be used (" + refused->message + ")"});
      return;
    }
    job.Fail({"function_error", collage.status().message()});
    return;
  }
  // Near-identical pictures (another encoding, another size) the function left out.
  // (Named, not a structured binding: clang 14's lambdas cannot capture those.)
  for (const auto& duplicate : Duplicates(*answer)) {
    const std::string& left_out = duplicate.first;
    const std::string& kept_key = duplicate.second;
    auto kept = std::find_if(snap.covers.begin(), snap.covers.end(),
                             [&](const Cover& o) { return o.key == kept_key; });
    for (const Cover& c : snap.covers) {
      if (c.key != left_out || c.stage != CoverStage::kDone) continue;
      Cover noted = c;
      noted.note = kept != snap.covers.end() ? DuplicateNote(*kept)
                                             : "The same picture as another cover: shown once.";
      job.SetCover(noted);
    }
  }
  spdlog::info("web: job {} done: {} covers, {} in the collage", job.id(), snap.covers.size(),
               collage->items.size());
  job.Finish(std::move(*collage));
}

}  // namespace sparkify::web::internal
