#include <spdlog/spdlog.h>

#include "web/internal/app.h"
#include "web/internal/respond.h"
#include "web/web.h"

namespace sparkify::web {
namespace {

class WebServerImpl final : public WebServer {
 public:
  explicit WebServerImpl(std::unique_ptr<internal::App> app) : app_(std::move(app)) {}
  ~WebServerImpl() override { Stop(); }

  Status Listen(const WebOptions& options) {
    http::ServerOptions http_opts;
    http_opts.host = options.host;
    http_opts.port = options.port;
    http_opts.server_name = "sparkify-web";
    // Each job's progress stream holds a worker while the job runs.
    http_opts.max_connections = 2048;
    http_opts.max_active_requests = 256;
    http_opts.io_timeout = std::chrono::seconds(60);
    // Behind a load balancer every connection comes from its few nodes, which pool and reuse
    // them: a cap per address would cap the balancer, not a visitor (per-visitor limits are
    // the client budget's, from X-Forwarded-For).
    if (!options.trusted_proxies.empty()) http_opts.max_connections_per_ip = 0;
    http_opts.render_error = [](int status, std::string_view code, std::string_view message) {
      return internal::ErrorResponse(status, code, message);
    };
    internal::App* app = app_.get();
    auto server =
        http::Server::Start(http_opts, [app](http::Request& req) { return app->Handle(req); });
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return Status::OK();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }
  uint64_t invocations() const override { return app_->invocations(); }
  void Stop() override {
    if (server_) server_->Stop();
    app_->Stop();
  }

 private:
  std::unique_ptr<internal::App> app_;
  std::unique_ptr<http::Server> server_;
};

Status Validate(const WebOptions& o) {
  if (o.bucket.empty()) return Status::InvalidArgument("the bucket name is empty");
  const sigv4::Credentials fixed = o.credential_source && !o.credential_source->rotates()
                                       ? o.credential_source->Current()
                                       : o.credentials;
  if (o.credential_source && o.credential_source->rotates()) {
    if (o.share_secret.empty() || o.session_secret.empty()) {
      return Status::InvalidArgument(
          "the web app's key rotates (a role's, from the container credentials endpoint): set "
          "SPARKIFY_SESSION_SECRET and SPARKIFY_SHARE_SECRET (or their *_FILE), which seal "
          "session cookies and share links, so they outlive the key and every replica opens "
          "them");
    }
  } else if (fixed.access_key_id.empty() || fixed.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "the web app needs its access key (AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or a role's from AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or "
        "_FULL_URI)");
  }
  for (const auto& [what, url] :
       {std::pair<const char*, const std::string&>{"S3 endpoint", o.s3_endpoint},
        {"function URL", o.function.url}}) {
    std::string scheme = internal::LowerAscii(url.substr(0, std::min<size_t>(url.size(), 8)));
    if (!url.empty() && !scheme.starts_with("http://") && !scheme.starts_with("https://")) {
      return Status::InvalidArgument(std::string("the ") + what + " must start with http:// or " +
                                     "https:// (got \"" + url.substr(0, 100) + "\")");
    }
  }
  if (auto proxies = internal::ParseNetworks(o.trusted_proxies); !proxies.ok()) {
    return proxies.status();
  }
  if (!o.public_url.empty()) {
    const std::string& u = o.public_url;
    const bool scheme = u.starts_with("http://") || u.starts_with("https://");
    const size_t host_at = u.find("://") + 3;
    if (!scheme || host_at >= u.size() || u.find('/', host_at) != std::string::npos ||
        u.find_first_of(" \t\r\n\"'<>?#@\\") != std::string::npos) {
      return Status::InvalidArgument(
          "public URL must be http(s)://HOST[:PORT] with no path (got \"" + u.substr(0, 100) +
          "\")");
    }
  }
  if (!o.share_secret.empty() && o.share_secret.size() < 16) {
    return Status::InvalidArgument("share secret must be at least 16 characters");
  }
  if (o.share_link_seconds < 60 || o.share_link_seconds > 31536000) {
    return Status::InvalidArgument("share link lifetime must be 60..31536000 seconds");
  }
  if (o.url_expires_seconds < 1 || o.url_expires_seconds > 604800) {
    return Status::InvalidArgument("URL expiry must be 1..604800 seconds");
  }
  if (o.max_files < 1 || o.max_files > 30)
    return Status::InvalidArgument("max files must be 1..30");
  if (o.max_file_bytes < 1024) return Status::InvalidArgument("max file bytes must be >= 1024");
  if (o.max_upload_bytes < o.max_file_bytes) {
    return Status::InvalidArgument("max upload bytes must be >= max file bytes");
  }
  if (o.max_inflight_upload_bytes < o.max_upload_bytes) {
    return Status::InvalidArgument("max in-flight upload bytes must be >= max upload bytes");
  }
  if (o.max_form_parts < 1) return Status::InvalidArgument("max form parts must be >= 1");
  if (o.max_running_jobs < 1) return Status::InvalidArgument("max running jobs must be >= 1");
  if (o.max_queued_jobs < 0) return Status::InvalidArgument("max queued jobs must be >= 0");
  if (o.function.url.empty() && o.function.name.empty()) {
    return Status::InvalidArgument("name the function (URL or name)");
  }
  if (o.spotify.client_id.empty() != o.spotify.client_secret.empty()) {
    return Status::InvalidArgument("Spotify needs both the client id and the client secret");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<WebServer>> WebServer::Start(WebOptions options) {
  SPARKIFY_RETURN_IF_ERROR(Validate(options));
  std::string redirect = options.spotify.redirect_uri;
  if (redirect.empty() && options.spotify.enabled() && options.port == 0) {
    return Status::InvalidArgument("Spotify needs a fixed port or an explicit redirect URI");
  }
  if (redirect.empty()) {
    std::string host =
        options.host == "0.0.0.0" || options.host == "::" ? "127.0.0.1" : options.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    redirect = "http://" + host + ":" + std::to_string(options.port) + "/auth/spotify/callback";
  }
  WebOptions copy = options;
  // A wrong key or bucket would otherwise show up as every visitor's covers failing.
  if (Status access = internal::CheckBucketAccess(options); !access.ok()) {
    if (access.code() == Status::Code::kFailedPrecondition) return access;
    spdlog::warn("web: cannot check the bucket {} now (going on: the store may come later): {}",
                 options.bucket, access.message());
  }
  auto server =
      std::make_unique<WebServerImpl>(std::make_unique<internal::App>(std::move(copy), redirect));
  SPARKIFY_RETURN_IF_ERROR(server->Listen(options));
  return std::unique_ptr<WebServer>(std::move(server));
}

}  // namespace sparkify::web
