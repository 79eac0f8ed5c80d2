// Internal: the web app's request handling, split by route family (api.cpp: routing, pages,
// config; api_jobs.cpp: jobs; api_spotify.cpp: Spotify sign-in). Thread-safe: Handle may be
// called from many connection threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "web/internal/bucket.h"
#include "web/internal/client_budget.h"
#include "web/internal/ingest.h"
#include "web/internal/invoke_client.h"
#include "web/internal/job_record.h"
#include "web/internal/jobs.h"
#include "web/internal/origin.h"
#include "web/internal/proxy.h"
#include "web/internal/runner.h"
#include "web/internal/spotify.h"
#include "web/web.h"

namespace sparkify::web::internal {

class App {
 public:
  // `redirect_uri`: Spotify's callback URL (the options' or one made from the server's port).
  App(WebOptions options, std::string redirect_uri);
  ~App();

  // Never throws; adds the security headers to every response.
  http::Response Handle(http::Request& req);
  uint64_t invocations() const { return invoker_.invocations(); }
  // Ends running jobs' threads (no new jobs after), then saves what is left to save (for at
  // most kSaveOnStop).
  void Stop() {
    runner_.Stop();
    saver_.Stop(kSaveOnStop);
  }
  static constexpr std::chrono::seconds kSaveOnStop{10};

 private:
  http::Response Route(http::Request& req);
  http::Response Static(std::string_view name);
  http::Response Config(const http::Request& req);
  // api_jobs.cpp
  http::Response CreateJob(http::Request& req);
  http::Response CreateFromUpload(http::Request& req, const std::string& content_type);
  http::Response CreateFromJson(http::Request& req);
  // api_uploads.cpp: POST /api/uploads (a signed form per file), and the covers of a job
  // made of direct uploads ({"uploads": [{key, name}]}; the error answer when malformed).
  http::Response UploadForms(http::Request& req);
  std::optional<http::Response> StoredSources(const nlohmann::json& uploads,
                                              std::vector<CoverSource>* sources) const;
  http::Response StartJob(const http::Request& req, std::vector<CoverSource> sources,
                          uint64_t seed);
  // Jobs any replica serves (api_jobs.cpp): saved to the bucket after each change, read back
  // from it. The job as it stands: this replica's own while it holds the newest version (it
  // runs here, or its last save failed), else the bucket's record (made or changed by any
  // replica). nullopt: no such job (or finished longer than finished_job_seconds ago).
  struct FoundJob {
    std::shared_ptr<Job> job;
    bool from_bucket = false;
  };
  Result<std::optional<FoundJob>> FindJob(const std::string& id);
  // Saves the job's latest state (`force`: even if saved already), logged when it cannot.
  // Not under any lock: it calls the store (JobSaver calls it on its thread).
  Status PersistJob(Job& job, bool force = false);
  // Reads the record, lets `change` alter it (false: nothing to do), writes it over the
  // version read; again from a fresh read when another replica wrote in between.
  Status UpdateRecord(const std::string& id, const std::function<bool(JobRecord&)>& change);
  // The 404/502 answer for FindJob's nullopt or error.
  static http::Response NoJob(const Status& status);
  http::Response GetJob(const std::string& id);
  http::Response Events(const http::Request& req, const std::string& id);
  http::Response Regenerate(const http::Request& req, const std::string& id);
  // 429 with Retry-After when `refusal` says so.
  static http::Response TooMany(const BudgetRefusal& refusal);
  http::Response Share(const http::Request& req, const std::string& id, bool download);
  // GET /s/<token> (the page) and /s/<token>.png (a redirect to the image).
  http::Response SharedCollage(const http::Request& req, const std::string& token);
  // api_spotify.cpp
  http::Response SpotifyLogin(const http::Request& req);
  http::Response SpotifyCallback(const http::Request& req);
  // The browser's session from its sealed cookie; nullopt when it has none that opens.
  std::optional<SpotifySession> OpenSpotifySession(const http::Request& req) const;
  // Sets the session's cookie, sealed afresh (its life starting again).
  void KeepSpotifySession(const http::Request& req, SpotifySession session,
                          http::Response* res) const;

  WebOptions options_;
  std::string csp_;
  OriginPolicy origin_policy_;
  std::vector<IpNetwork> proxies_;                   // options_.trusted_proxies
  std::atomic<uint64_t> upload_bytes_in_flight_{0};  // <= options_.max_inflight_upload_bytes
  Bucket bucket_;
  JobBook book_{&bucket_};
  std::atomic<uint64_t> save_failures_{0};  // logged sparingly
  // Before runner_: the runner's jobs mark it until they end.
  JobSaver saver_{[this](Job& job, bool force) { return PersistJob(job, force); }};
  InvokeClient invoker_;
  JobTable jobs_;
  ClientBudget budget_;
  Runner runner_;
  Spotify spotify_;
  std::vector<SampleFile> samples_;
  std::string share_key_;    // ShareLinkKey of the web app's secret key
  std::string session_key_;  // SessionKey of the session secret (or the secret key)
  std::string upload_key_;   // MACs the direct-upload keys handed out (from session_key_)
};

}  // namespace sparkify::web::internal
