// Routing, the page and its assets, the configuration document.
#include <spdlog/spdlog.h>

#include <exception>

#include "common/crypto.h"
#include "web/internal/app.h"
#include "web/internal/assets.h"
#include "web/internal/respond.h"
#include "web/internal/share_link.h"

namespace sparkify::web::internal {
namespace {

// "/api/jobs/ID/share" -> {"api", "jobs", "ID", "share"}. Empty segments are kept.
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Every signer asks options.credential_source for the key; a fixed key becomes one, and a
// fixed source's key is the one the derived secrets come from.
WebOptions WithCredentialSource(WebOptions o) {
  if (!o.credential_source) {
    o.credential_source = s3client::CredentialSource::Fixed(o.credentials);
  } else if (!o.credential_source->rotates()) {
    o.credentials = o.credential_source->Current();
  }
  return o;
}

bool ValidJobId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

App::App(WebOptions options, std::string redirect_uri)
    : options_(WithCredentialSource(std::move(options))),
      bucket_(options_),
      invoker_(options_.function, options_.credential_source),
      jobs_(static_cast<size_t>(std::max(1, options_.max_jobs)),
            std::chrono::seconds(std::max<int64_t>(1, options_.finished_job_seconds))),
      budget_(ClientBudgetOptions{options_.client_covers_per_minute, options_.client_running_jobs,
                                  options_.client_actions_per_minute}),
      runner_(options_, &bucket_, &invoker_),
      spotify_(options_.spotify, std::move(redirect_uri)),
      samples_(ListSamples(options_.samples_dir, options_.max_files)),
      share_key_(ShareLinkKey(options_.share_secret.empty() ? options_.credentials.secret_access_key
                                                            : options_.share_secret)),
      session_key_(SessionKey(options_.session_secret.empty()
                                  ? options_.credentials.secret_access_key
                                  : options_.session_secret)),
      upload_key_(HmacSha256(session_key_, "sparkify direct upload keys v1")) {
  csp_ = ContentSecurityPolicy(bucket_.origin(), options_.direct_uploads);
  origin_policy_.loopback_only = IsLoopbackAddress(options_.host);
  if (auto proxies = ParseNetworks(options_.trusted_proxies); proxies.ok()) {
    proxies_ = std::move(*proxies);  // WebServer::Start has refused a bad list
  }
  // The Spotify redirect URI names the host the browser uses for this server.
  const std::string& redirect = spotify_.redirect_uri();
  if (size_t scheme = redirect.find("://"); scheme != std::string::npos) {
    std::string authority = redirect.substr(scheme + 3);
    authority = authority.substr(0, authority.find('/'));
    origin_policy_.allowed_hosts.push_back(HostName(authority));
  }
}

App::~App() { Stop(); }

http::Response App::Handle(http::Request& req) {
  http::Response res;
  ApplyForwarded(proxies_, &req);
  try {
    if (auto refused =
            CheckOrigin(origin_policy_, req.method, req.Header("host"), req.Header("origin"))) {
      res = ErrorResponse(403, refused->code, refused->message);
    } else {
      res = Route(req);
    }
  } catch (const std::exception& e) {
    spdlog::error("web: {} {}: {}", req.method, req.path, e.what());
    res = ErrorResponse(500, "internal", "Something went wrong on the server.");
  }
  AddSecurityHeaders(res, csp_);
  return res;
}

http::Response App::Route(http::Request& req) {
  std::vector<std::string> seg = Segments(req.path);
  const std::string& m = req.method;
  auto method_not_allowed = [] {
    return ErrorResponse(405, "method_not_allowed", "That method is not allowed here.");
  };
  if (req.path == "/" || req.path == "/index.html") {
    if (m != "GET" && m != "HEAD") return method_not_allowed();
    return Static("index.html");
  }
  if (req.path == "/healthz") {  // a load balancer's check: answers without the bucket
    if (m != "GET" && m != "HEAD") return method_not_allowed();
    return JsonResponse(200, {{"ok", true}});  // (no-store, as every JSON answer)
  }
  if (seg.size() == 2 && seg[0] == "static") {
    if (m != "GET" && m != "HEAD") return method_not_allowed();
    return Static(seg[1]);
  }
  if (seg.size() >= 2 && seg[0] == "api") {
    if (seg.size() == 2 && seg[1] == "config") {
      return m == "GET" ? Config(req) : method_not_allowed();
    }
    if (seg.size() == 2 && seg[1] == "uploads") {
      return m == "POST" ? UploadForms(req) : method_not_allowed();
    }
    if (seg[1] == "jobs" && seg.size() == 2) {
      return m == "POST" ? CreateJob(req) : method_not_allowed();
    }
    if (seg[1] == "jobs" && (seg.size() == 3 || seg.size() == 4)) {
      const std::string& id = seg[2];
      if (!ValidJobId(id)) return ErrorResponse(404, "not_found", "No such job.");
      std::string action = seg.size() == 4 ? seg[3] : "";
      if (action.empty()) return m == "GET" ? GetJob(id) : method_not_allowed();
      if (action == "events") return m == "GET" ? Events(req, id) : method_not_allowed();
      if (action == "regenerate") return m == "POST" ? Regenerate(req, id) : method_not_allowed();
      if (action == "share") return m == "POST" ? Share(req, id, false) : method_not_allowed();
      if (action == "download") return m == "GET" ? Share(req, id, true) : method_not_allowed();
    }
  }
  if (seg.size() == 2 && seg[0] == "s") {
    if (m != "GET" && m != "HEAD") return method_not_allowed();
    return SharedCollage(req, seg[1]);
  }
  if (seg.size() == 3 && seg[0] == "auth" && seg[1] == "spotify") {
    if (!spotify_.enabled()) return ErrorResponse(404, "not_found", "Spotify is not configured.");
    if (m != "GET") return method_not_allowed();
    if (seg[2] == "login") return SpotifyLogin(req);
    if (seg[2] == "callback") return SpotifyCallback(req);
  }
  return ErrorResponse(404, "not_found", "Nothing here.");
}

http::Response App::Static(std::string_view name) {
  const Asset* asset = FindAsset(name);
  if (asset == nullptr) return ErrorResponse(404, "not_found", "No such file.");
  http::Response res;
  res.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
  res.Set("Content-Type", asset->content_type);
  res.Set("Cache-Control", "no-cache");
  return res;
}

http::Response App::Config(const http::Request& req) {
  std::optional<SpotifySession> session;
  if (spotify_.enabled()) session = OpenSpotifySession(req);
  return JsonResponse(200, {{"spotify", spotify_.enabled()},
                            {"spotify_connected", session && spotify_.Connected(*session)},
                            {"samples", !samples_.empty()},
                            {"max_files", options_.max_files},
                            {"max_file_bytes", options_.max_file_bytes},
                            {"max_upload_bytes", options_.max_upload_bytes},
                            {"direct_uploads", options_.direct_uploads},
                            {"url_expires_seconds", options_.url_expires_seconds},
                            {"share_link_seconds", options_.share_link_seconds},
                            {"finished_job_seconds", options_.finished_job_seconds}});
}

}  // namespace sparkify::web::internal
