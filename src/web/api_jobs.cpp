// The job routes: create (uploads, URLs, samples, Spotify), read, follow, regenerate, share.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "web/internal/app.h"
#include "web/internal/multipart.h"
#include "web/internal/respond.h"
#include "web/internal/share.h"
#include "web/internal/share_link.h"
#include "web/internal/view.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

// Seeds stay below 2^53 so that JavaScript numbers hold them exactly.
uint64_t RandomSeed() {
  std::string bytes = RandomBytes(8);
  uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v & ((uint64_t{1} << 53) - 1);
}

http::Response ViewOrError(const Result<json>& doc, int status) {
  if (!doc.ok()) return StoreErrorResponse("Cannot show the images.", doc.status());
  return JsonResponse(status, *doc);
}

}  // namespace

http::Response App::CreateJob(http::Request& req) {
  // Media types are case-insensitive (RFC 9110); the boundary's value is not, so the original
  // goes on to the multipart parser.
  std::string original(req.Header("content-type").value_or(""));
  std::string type = LowerAscii(original);
  if (type.starts_with("multipart/form-data")) return CreateFromUpload(req, original);
  if (type.starts_with("application/json")) return CreateFromJson(req);
  return ErrorResponse(415, "unsupported_type",
                       "Send multipart/form-data (files) or application/json (urls, sample, "
                       "source).");
}

namespace {

// The 413 for an upload over the limits, naming them.
http::Response UploadTooLarge(const WebOptions& options) {
  return ErrorResponse(413, "too_large",
                       "The upload is too large: at most " +
                           std::to_string(options.max_upload_bytes >> 20) + " MiB in all, " +
                           std::to_string(options.max_file_bytes >> 20) + " MiB per file.");
}

// Adds `bytes` to `counter` unless that would pass `cap`; false (nothing added) then.
bool ReserveBytes(std::atomic<uint64_t>& counter, uint64_t bytes, uint64_t cap) {
  uint64_t in_flight = counter.load();
  do {
    if (in_flight + bytes > cap) return false;
  } while (!counter.compare_exchange_weak(in_flight, in_flight + bytes));
  return true;
}

// Gives back bytes that ReserveBytes took, when it goes out of scope.
struct ReleaseBytes {
  std::atomic<uint64_t>& counter;
  uint64_t bytes;
  ~ReleaseBytes() { counter.fetch_sub(bytes); }
};

// Reads the upload's body into `*body` and splits it into `*parts` (which point into it);
// the error answer when it cannot.
std::optional<http::Response> ReadUpload(http::Request& req, const std::string& boundary,
                                         const WebOptions& options,
                                         std::shared_ptr<const std::string>* body,
                                         std::vector<FormPart>* parts) {
  auto read = req.ReadAll(options.max_upload_bytes);
  if (!read.ok()) {
    if (read.status().code() == Status::Code::kResourceExhausted) return UploadTooLarge(options);
    return ErrorResponse(400, "bad_request",
                         "Could not read the upload: " + read.status().message());
  }
  *body = std::make_shared<const std::string>(std::move(*read));
  auto parsed = ParseMultipart(**body, boundary, static_cast<size_t>(options.max_form_parts));
  if (!parsed.ok()) {
    if (parsed.status().code() == Status::Code::kResourceExhausted) {
      return ErrorResponse(413, "too_many_files", parsed.status().message());
    }
    return ErrorResponse(400, "bad_request", parsed.status().message());
  }
  *parts = std::move(*parsed);
  return std::nullopt;
}

// The covers of the form's "file" parts into `*sources`; the error answer when there are too
// many, none, or none usable.
std::optional<http::Response> UploadSources(const std::vector<FormPart>& parts,
                                            const std::shared_ptr<const std::string>& body,
                                            const WebOptions& options,
                                            std::vector<CoverSource>* sources) {
  // Every file is checked on its own: the good ones go on, each refused one is shown failed
  // with its own reason. Only when none is usable is the request refused, with every reason.
  int usable = 0;
  std::vector<std::string> reasons;
  for (const FormPart& part : parts) {
    if (part.name != "file") continue;
    std::string name = ShortName(part.filename.empty() ? "upload" : part.filename);
    if (static_cast<int>(sources->size()) >= options.max_files) {
      return ErrorResponse(413, "too_many_files",
                           "At most " + std::to_string(options.max_files) + " covers at a time.");
    }
    CoverSource source{name, part.data, "", "", body, std::nullopt};
    if (part.data.empty()) {
      source.refused = ApiError{"bad_image", "This file is empty."};
    } else if (part.data.size() > options.max_file_bytes) {
      source.refused = ApiError{
          "too_large", "This file is larger than " + SizeText(options.max_file_bytes) + "."};
    } else if (ImageCheck check = CheckImage(part.data); !check.status.ok()) {
      source.refused = check.error;
    }
    if (source.refused) {
      reasons.push_back(name + ": " + source.refused->message);
      source.bytes = {};
      source.upload = nullptr;
    } else {
      ++usable;
    }
    sources->push_back(std::move(source));
  }
  if (sources->empty()) return ErrorResponse(400, "bad_request", "No files in field \"file\".");
  if (usable == 0) {
    std::vector<std::string> codes;
    for (const CoverSource& s : *sources) codes.push_back(s.refused->code);
    return NoneUsable(codes, reasons);
  }
  return std::nullopt;
}

// The request's "seed" into `*seed` when it has one; the error answer when it is not an
// unsigned integer.
std::optional<http::Response> ReadSeed(const json& doc, uint64_t* seed) {
  if (doc.contains("seed")) {
    if (!doc["seed"].is_number_unsigned()) {
      return ErrorResponse(400, "bad_request", "seed must be an unsigned integer.");
    }
    *seed = doc["seed"].get<uint64_t>();
  }
  return std::nullopt;
}

// The covers of the request's "urls" into `*sources`; the error answer when the list is
// malformed, too long, or holds no web address.
std::optional<http::Response> UrlSources(const json& urls, int max_files,
                                         std::vector<CoverSource>* sources) {
  if (!urls.is_array() || urls.empty()) {
    return ErrorResponse(400, "bad_url", "urls must be a non-empty list of image URLs.");
  }
  if (urls.size() > static_cast<size_t>(max_files)) {
    return ErrorResponse(413, "too_many_files",
                         "At most " + std::to_string(max_files) + " covers at a time.");
  }
  // An entry that is not a web address is its own failed cover; the request fails only if
  // all are. (An entry that is not even a string is a malformed request.)
  int usable = 0;
  for (const json& u : urls) {
    if (!u.is_string()) {
      return ErrorResponse(400, "bad_url",
                           "urls must hold strings (found: " + JsonTypeName(u) + ").");
    }
    std::string url = u.get<std::string>();
    std::string scheme = LowerAscii(url.substr(0, 8));
    CoverSource cover{ShortName(url), {}, url, "", nullptr, std::nullopt};
    if (url.size() > 4096 || !(scheme.starts_with("https://") || scheme.starts_with("http://"))) {
      cover.url.clear();
      cover.refused = ApiError{"bad_url", "This is not a web address (http:// or https://)."};
    } else {
      ++usable;
    }
    sources->push_back(std::move(cover));
  }
  if (usable == 0) {
    return ErrorResponse(400, "bad_url",
                         sources->size() == 1
                             ? "“" + (*sources)[0].name +
                                   "” is not a web address (http:// or "
                                   "https://)."
                             : "None of these are web addresses (http:// or https://).");
  }
  return std::nullopt;
}

// The session's top Spotify album covers into `*sources`; the error answer when Spotify is
// not configured, the session is not signed in, Spotify fails or lists none. `*session` is
// the browser's session, with its tokens as Spotify left them (refreshed, or dropped).
std::optional<http::Response> SpotifySources(Spotify& spotify,
                                             std::optional<SpotifySession>* session, int max_files,
                                             std::vector<CoverSource>* sources) {
  if (!spotify.enabled()) return ErrorResponse(404, "not_found", "Spotify is not configured.");
  auto covers = spotify.TopCovers(*session ? &**session : nullptr, max_files);
  if (!covers.ok()) {
    bool auth = covers.status().code() == Status::Code::kUnauthenticated;
    return ErrorResponse(auth ? 401 : 502, auth ? "spotify_session" : "spotify_error",
                         covers.status().message());
  }
  if (covers->empty()) return ErrorResponse(400, "bad_request", "Spotify listed no album covers.");
  for (const AlbumCover& c : *covers)
    sources->push_back(CoverSource{ShortName(c.name), {}, c.url, "", nullptr});
  return std::nullopt;
}

}  // namespace

http::Response App::CreateFromUpload(http::Request& req, const std::string& content_type) {
  auto boundary = MultipartBoundary(content_type);
  if (!boundary.ok()) return ErrorResponse(400, "bad_request", boundary.status().message());
  const uint64_t limit = options_.max_upload_bytes;
  if (req.content_length && *req.content_length > limit) return UploadTooLarge(options_);
  // Reserve the body's size in the budget of all uploads being read, for as long as this
  // request holds it (the jobs then hold the uploads they keep).
  const uint64_t reserve = req.content_length ? *req.content_length : limit;
  if (!ReserveBytes(upload_bytes_in_flight_, reserve, options_.max_inflight_upload_bytes)) {
    return ErrorResponse(503, "busy", "Too many uploads at once; try again in a minute.");
  }
  ReleaseBytes release{upload_bytes_in_flight_, reserve};
  std::shared_ptr<const std::string> body;
  std::vector<FormPart> parts;
  if (auto refused = ReadUpload(req, *boundary, options_, &body, &parts)) return *refused;
  std::vector<CoverSource> sources;
  if (auto refused = UploadSources(parts, body, options_, &sources)) return *refused;
  return StartJob(req, std::move(sources), RandomSeed());
}

http::Response App::CreateFromJson(http::Request& req) {
  json doc;
  if (auto refused = ReadJsonObject(req, options_.max_json_bytes, &doc)) return *refused;
  uint64_t seed = RandomSeed();
  if (auto refused = ReadSeed(doc, &seed)) return *refused;
  const json& sample = JsonMember(doc, "sample");
  const json& source = JsonMember(doc, "source");
  if (!sample.is_null() && !sample.is_boolean()) {
    return ErrorResponse(400, "bad_request",
                         "sample must be true or false, not a " + JsonTypeName(sample) + ".");
  }
  if (!source.is_null() && !source.is_string()) {
    return ErrorResponse(
        400, "bad_request",
        "source must be the string \"spotify\", not a " + JsonTypeName(source) + ".");
  }
  std::vector<CoverSource> sources;
  if (doc.contains("uploads")) {
    if (auto refused = StoredSources(doc["uploads"], &sources)) return *refused;
  } else if (doc.contains("urls")) {
    if (auto refused = UrlSources(doc["urls"], options_.max_files, &sources)) return *refused;
  } else if (sample.is_boolean() && sample.get<bool>()) {
    if (samples_.empty()) return ErrorResponse(404, "not_found", "No sample set is installed.");
    for (const SampleFile& s : samples_) {
      sources.push_back(CoverSource{s.name, {}, "", s.path, nullptr});
    }
  } else if (source.is_string() && source.get<std::string>() == "spotify") {
    std::optional<SpotifySession> session = OpenSpotifySession(req);
    auto refused = SpotifySources(spotify_, &session, options_.max_files, &sources);
    http::Response res = refused ? std::move(*refused) : StartJob(req, std::move(sources), seed);
    // Tokens refreshed (or dropped) on the way go back to the browser.
    if (session) KeepSpotifySession(req, std::move(*session), &res);
    return res;
  } else {
    return ErrorResponse(400, "bad_request",
                         "Give \"uploads\", \"urls\", \"sample\": true or \"source\": "
                         "\"spotify\".");
  }
  return StartJob(req, std::move(sources), seed);
}

http::Response App::TooMany(const BudgetRefusal& refusal) {
  http::Response res = ErrorResponse(429, "too_many", refusal.message);
  res.Set("Retry-After", std::to_string(refusal.retry_after_s));
  return res;
}

http::Response App::StartJob(const http::Request& req, std::vector<CoverSource> sources,
                             uint64_t seed) {
  std::shared_ptr<ClientBudget::Slot> slot;
  if (auto refused = budget_.StartJob(req.remote_ip, static_cast<int>(sources.size()), &slot)) {
    return TooMany(*refused);
  }
  std::vector<Cover> covers;
  for (size_t i = 0; i < sources.size(); ++i) {
    Cover c;
    c.index = static_cast<int>(i);
    c.name = sources[i].name;
    if (sources[i].refused) {  // failed from the start: the answer already says why
      c.stage = CoverStage::kFailed;
      c.error = sources[i].refused;
    }
    covers.push_back(std::move(c));
  }
  std::shared_ptr<Job> job = JobTable::NewJob(std::move(covers));
  // Every change goes to the bucket, where any replica reads it (the job calls this only
  // while it lives).
  job->OnChange([this, weak = std::weak_ptr<Job>(job)] {
    if (auto j = weak.lock()) saver_.Mark(j);
  });
  size_t count = sources.size();
  if (Status s = runner_.Start(job, std::move(sources), seed, req.remote_ip, std::move(slot));
      !s.ok()) {
    // Not in the table: a refused job must not push out anyone's finished one.
    std::string code = s.code() == Status::Code::kResourceExhausted ? "busy" : "shutting_down";
    return ErrorResponse(503, code, s.message());
  }
  jobs_.Add(job);
  // The job as it was started is the answer; it is saved first (in whatever state it has
  // reached by then), so any replica knows the job as soon as the browser does.
  const JobSnapshot started = job->Snapshot();
  (void)PersistJob(*job);
  saver_.Watch(job);
  spdlog::info("web: job {} with {} covers", job->id(), count);
  http::Response res = ViewOrError(JobJson(started, bucket_), 202);
  res.Set("Location", "/api/jobs/" + job->id());
  return res;
}

http::Response App::GetJob(const std::string& id) {
  auto found = FindJob(id);
  if (!found.ok() || !*found) return NoJob(found.status());
  return ViewOrError(JobJson((*found)->job->Snapshot(), bucket_), 200);
}

// Server-sent events: the job at once, then at every change, a comment line every 15 s while
// nothing changes; the stream ends after done/failed. A browser reconnecting with
// Last-Event-ID (the version it has) after the end gets 204, which stops its EventSource.
http::Response App::Events(const http::Request& req, const std::string& id) {
  auto found = FindJob(id);
  if (!found.ok() || !*found) return NoJob(found.status());
  std::shared_ptr<Job> job = (*found)->job;
  // A job this replica runs wakes its stream at once; another's is read from the bucket
  // every second (the bounded delay of an event from another replica).
  std::function<std::optional<JobSnapshot>(uint64_t)> next;
  if ((*found)->from_bucket) {
    next = [this, job, id, misses = 0](uint64_t seen) mutable -> std::optional<JobSnapshot> {
      JobSnapshot snap = job->Snapshot();
      if (snap.version > seen || snap.stage != JobStage::kRunning) return snap;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      auto again = FindJob(id);
      if (again.ok() && *again) {
        job = (*again)->job;
        misses = 0;
      } else if (++misses >= 30) {  // gone, or the store has not answered for half a minute
        return std::nullopt;
      }
      return job->Snapshot();
    };
  } else {
    next = [job](uint64_t seen) -> std::optional<JobSnapshot> {
      return job->WaitForChange(seen, std::chrono::seconds(1));
    };
  }
  uint64_t seen = 0;
  std::string last(req.Header("last-event-id").value_or(""));
  if (last.empty()) last = QueryValue(req, "since").value_or("");
  if (!last.empty()) seen = std::strtoull(last.c_str(), nullptr, 10);
  http::Response res;
  res.Set("Content-Type", "text/event-stream");
  res.Set("Cache-Control", "no-store");
  JobSnapshot now = job->Snapshot();
  if (now.version <= seen && now.stage != JobStage::kRunning) {
    res.status = 204;
    return res;
  }
  res.stream = [this, next, seen](const std::function<bool(std::string_view)>& write) mutable {
    if (!write("retry: 1000\n\n")) return;
    auto quiet_since = std::chrono::steady_clock::now();
    while (true) {
      std::optional<JobSnapshot> next_snap = next(seen);
      if (!next_snap) return;
      JobSnapshot& snap = *next_snap;
      if (snap.version <= seen && snap.stage != JobStage::kRunning) return;  // seen its end
      if (snap.version > seen) {
        seen = snap.version;
        auto doc = JobJson(snap, bucket_);
        json data = doc.ok() ? *doc
                             : json{{"id", snap.id},
                                    {"state", "failed"},
                                    {"error",
                                     {{"code", "store_error"},
                                      {"message", StoreTrouble("Cannot show the images.",
                                                               doc.status(), "job " + snap.id)}}}};
        std::string event = "id: " + std::to_string(snap.version) + "\nevent: job\ndata: " +
                            data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
        if (!write(event)) return;
        if (snap.stage != JobStage::kRunning) return;
        quiet_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - quiet_since > std::chrono::seconds(15)) {
        if (!write(": waiting\n\n")) return;
        quiet_since = std::chrono::steady_clock::now();
      } else if (!write("")) {
        return;  // the server stops
      }
    }
  };
  return res;
}

http::Response App::Regenerate(const http::Request& req, const std::string& id) {
  auto found = FindJob(id);
  if (!found.ok() || !*found) return NoJob(found.status());
  if (!(*found)->job->Snapshot().collage) {
    return ErrorResponse(409, "not_ready", "The collage is not ready yet.");
  }
  if (auto refused = budget_.Action(req.remote_ip)) return TooMany(*refused);
  const uint64_t seed = RandomSeed();
  Collage collage;
  if (!(*found)->from_bucket) {
    (*found)->job->Reseed(seed, &collage);
    return ViewOrError(CollageJson(collage, bucket_), 200);
  }
  bool ready = false;
  Status s = UpdateRecord(id, [&](JobRecord& record) {
    if (!record.snapshot.collage) return false;
    record.snapshot.collage->seed = seed;
    collage = *record.snapshot.collage;
    ready = true;
    return true;
  });
  if (!s.ok()) {
    return StoreErrorResponse("Cannot save the new layout.", s);
  }
  if (!ready) return ErrorResponse(409, "not_ready", "The collage is not ready yet.");
  return ViewOrError(CollageJson(collage, bucket_), 200);
}

namespace {

// The origin people reach us at (for absolute share links): --public-url, else the Host the
// browser sent on the connection's scheme (on loopback the origin guard has checked it).
std::string OriginOf(const http::Request& req, const std::string& public_url) {
  if (!public_url.empty()) return public_url;
  std::string host(req.Header("host").value_or("localhost"));
  return std::string(req.secure ? "https://" : "http://") + host;
}

http::Response HtmlPage(int status, std::string body) {
  http::Response res;
  res.status = status;
  res.Set("Content-Type", "text/html; charset=utf-8");
  res.Set("Cache-Control", "no-store");
  res.body = std::move(body);
  return res;
}

}  // namespace

http::Response App::SharedCollage(const http::Request& req, const std::string& token) {
  const bool image = token.size() > 4 && token.ends_with(".png");
  const std::string seal = image ? token.substr(0, token.size() - 4) : token;
  ShareLink link;
  ShareCheck check = CheckShareToken(share_key_, seal, Clock::System().Now(), &link);
  if (check != ShareCheck::kValid) {
    if (image) {
      return ErrorResponse(
          check == ShareCheck::kExpired ? 410 : 404, "not_found",
          check == ShareCheck::kExpired ? "This shared collage has expired." : "No such collage.");
    }
    return HtmlPage(
        check == ShareCheck::kExpired ? 410 : 404,
        ShareGonePage(check == ShareCheck::kExpired ? ShareGone::kExpired : ShareGone::kInvalid));
  }
  // Anyone may open a share link: the store's own error text (names, addresses) goes to the
  // log, the visitor gets words.
  auto unavailable = [&](const Status& s) {
    spdlog::warn("web: share link for {}: {}", link.png_key, s.message());
    return ErrorResponse(502, "store_error", "The collage cannot be shown right now.");
  };
  // The picture may be gone from the store (cleaned up, or another store): say so in words.
  auto there = bucket_.Exists(link.png_key);
  if (!there.ok()) return unavailable(there.status());
  if (!*there) {
    if (image) return ErrorResponse(410, "not_found", "This collage is no longer kept.");
    return HtmlPage(410, ShareGonePage(ShareGone::kMissing));
  }
  auto url = bucket_.SignGet(link.png_key);
  if (!url.ok()) return unavailable(url.status());
  if (image) {
    http::Response res;
    res.status = 302;
    res.Set("Location", url->url);
    res.Set("Cache-Control", "no-store");
    return res;
  }
  const std::string page = OriginOf(req, options_.public_url) + "/s/" + seal;
  return HtmlPage(200, SharePage(url->url, page + ".png", page, link.expires));
}

http::Response App::Share(const http::Request& req, const std::string& id, bool download) {
  auto found = FindJob(id);
  if (!found.ok() || !*found) return NoJob(found.status());
  std::shared_ptr<Job> job = (*found)->job;
  JobSnapshot snap = job->Snapshot();
  if (!snap.collage) return ErrorResponse(409, "not_ready", "The collage is not ready yet.");
  if (!job->IsShared(snap.collage->seed)) {  // a new picture to draw and store
    if (auto refused = budget_.Action(req.remote_ip)) return TooMany(*refused);
  }
  const bool was_shared = job->IsShared(snap.collage->seed);
  auto key = EnsureSharedPng(*job, *snap.collage, bucket_, share_key_, 32u << 20);
  if (!key.ok()) {
    return StoreErrorResponse("Could not make the picture.", key.status(), "job " + id);
  }
  if ((*found)->from_bucket && !was_shared) {
    // Remembered in the record, so no replica draws this picture again.
    const uint64_t seed = snap.collage->seed;
    Status s = UpdateRecord(id, [seed](JobRecord& record) {
      if (std::find(record.shared.begin(), record.shared.end(), seed) != record.shared.end()) {
        return false;
      }
      record.shared.push_back(seed);
      return true;
    });
    if (!s.ok()) spdlog::warn("web: job {}: cannot note the shared picture: {}", id, s.message());
  }
  if (download) {
    auto url = bucket_.SignGet(*key, "sparkify-collage.png");
    if (!url.ok()) return StoreErrorResponse("Cannot hand out the picture.", url.status());
    http::Response res;
    res.status = 303;
    res.Set("Location", url->url);
    res.Set("Cache-Control", "no-store");
    return res;
  }
  const TimePoint expires =
      Clock::System().Now() + std::chrono::seconds(options_.share_link_seconds);
  const std::string path = "/s/" + MakeShareToken(share_key_, *key, expires);
  const std::string origin = OriginOf(req, options_.public_url);
  // A link to a loopback name works on this computer only: the page says so.
  const std::string name = HostName(origin.substr(origin.find("://") + 3));
  const bool local = IsLoopbackAddress(name) || name.ends_with(".localhost");
  return JsonResponse(200, {{"url", origin + path},
                            {"path", path},
                            {"image", origin + path + ".png"},
                            {"expires_at", FormatIso8601(expires)},
                            {"local", local}});
}

}  // namespace sparkify::web::internal
