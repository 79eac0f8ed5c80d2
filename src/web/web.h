// The Sparkify web app's backend: serves the page (embedded static files) and the JSON API of
// src/web/API.md on an http::Server. Covers go into the bucket (uploads/), the AI function is
// invoked with keys only (one segment invoke per cover, concurrently, then one collage
// invoke), and the browser gets presigned GET URLs for every image: images never pass
// through this server on their way to the browser, and no credential reaches the browser.
//
// WebServer is thread-safe: Start() returns a running server; Stop() (or the destructor)
// stops accepting, waits for running jobs to end and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "s3client/credentials.h"
#include "sigv4/sigv4.h"

namespace sparkify::web {

// Where the AI function is: the local invoke endpoint (url set) or AWS Lambda (name + region).
struct FunctionTarget {
  // "http://127.0.0.1:9000": POST {url}/2015-03-31/functions/{name}/invocations.
  // Empty: https://lambda.{region}.amazonaws.com.
  std::string url;
  std::string name = "function";  // Default: "function", the local endpoint's name.
  std::string region = "us-east-1";
  // Time limit of one invoke (connect + answer). Default: 330 s (the function's 300 s + slack).
  std::chrono::milliseconds timeout{330'000};
};

struct SpotifyOptions {
  std::string client_id;      // empty: Spotify is off (its routes answer 404)
  std::string client_secret;  // never logged, never sent to the browser
  std::string auth_url = "https://accounts.spotify.com/authorize";
  std::string token_url = "https://accounts.spotify.com/api/token";
  std::string api_url = "https://api.spotify.com";  // + /v1/me/top/tracks
  // Where Spotify sends the browser back. Empty: http://127.0.0.1:PORT/auth/spotify/callback.
  std::string redirect_uri;
  // A session (sealed cookie) lives this long after its last sign-in or Spotify job.
  // Default: 1 hour.
  std::chrono::seconds session_ttl{3600};
  bool enabled() const { return !client_id.empty() && !client_secret.empty(); }
};

struct WebOptions {
  std::string host = "127.0.0.1";  // Default: loopback only.
  uint16_t port = 0;               // 0: any free port (see WebServer::port()).

  // --- The bucket (the embedded store, AWS S3 or MinIO) and the web principal's keys, which
  // also sign the function invokes.
  std::string bucket = "sparkify";
  std::string s3_endpoint;  // "http://127.0.0.1:9100"; empty: AWS S3 in s3_region
  std::string s3_region = "us-east-1";
  sigv4::Credentials credentials;  // REQUIRED, unless credential_source is set
  // Where the key comes from when it rotates (a task role's temporary key from the container
  // credentials endpoint): every signature then asks it. Needs share_secret and
  // session_secret, since nothing may be derived from a key that changes.
  std::shared_ptr<s3client::CredentialSource> credential_source;

  FunctionTarget function;
  // Covers of one job processed at once (fetch, store, segment invoke). On AWS each segment
  // invoke runs in its own Lambda instance. Default: 4.
  int segment_concurrency = 4;

  // --- Limits.
  int max_files = 30;                     // covers per job. Default: 30, the original's.
  uint64_t max_file_bytes = 10ull << 20;  // one uploaded or fetched cover. Default: 10 MiB.
  size_t max_json_bytes = 256 * 1024;     // a JSON request body. Default: 256 KiB.
  int max_jobs = 200;  // kept in memory (all are in the bucket); the oldest finished go first
  // A finished job is kept (GET answers) this long after it ended, then 404. Its images' URLs
  // are signed afresh at every GET, so this bounds memory, not the links. Default: 1 day.
  int64_t finished_job_seconds = 24 * 3600;
  int max_running_jobs = 8;  // jobs in progress at once; beyond: they wait, fairly
  // Jobs waiting for a free slot; beyond, or when the uploads they hold would pass
  // max_inflight_upload_bytes: 503 busy.
  int max_queued_jobs = 32;
  // What one client (remote address) may ask, so it cannot lock out the others (429 with
  // Retry-After beyond): covers per minute, its jobs in progress at once, and share links
  // plus regenerations per minute. 0: no limit.
  int client_covers_per_minute = 120;
  int client_running_jobs = 2;
  int client_actions_per_minute = 30;
  // One upload request (all its files). Default: 64 MiB.
  uint64_t max_upload_bytes = 64ull << 20;
  // All upload requests being read at once (each counts its Content-Length, or
  // max_upload_bytes when chunked); beyond: 503 busy. >= max_upload_bytes. Default: 256 MiB.
  uint64_t max_inflight_upload_bytes = 256ull << 20;
  // The page sends files straight to the bucket with signed POST forms (POST /api/uploads),
  // so no upload passes through this server; the bucket needs a CORS rule letting this
  // app's origin POST to it. Off: the page sends them here (multipart POST /api/jobs, which
  // works either way). Default: on.
  bool direct_uploads = true;
  // Parts of one multipart body (files and fields); beyond: 413. Default: 100.
  int max_form_parts = 100;
  // Presigned GET URLs live this long. Default: 1 hour. 1..604800.
  int64_t url_expires_seconds = 3600;
  // Share links (/s/<token>, on the web app's own origin) live this long; the image behind
  // one is signed afresh at every view. Default: 7 days. 60..31536000 (a year).
  int64_t share_link_seconds = 7 * 24 * 3600;
  // The address people reach this web app at, for share links ("https://collage.example"; no
  // path). Empty: the Host the browser sent, on the connection's scheme (right on one machine;
  // behind a proxy that ends TLS or rewrites Host, set it).
  std::string public_url;
  // The load balancers or reverse proxies in front of this app ("10.0.0.0/8,fd00::/8"): for
  // a request from one of them, the client's address is the last X-Forwarded-For entry and
  // its scheme the last X-Forwarded-Proto (internal/proxy.h). Empty: the TCP peer is the
  // client, and the connection's scheme is its scheme.
  std::string trusted_proxies;
  // The secret that seals share links. Empty: derived from the web principal's secret key, so
  // rotating that key (or short-lived credentials) ends every link; set it to keep links
  // across key changes and replicas with keys of their own.
  std::string share_secret;
  // The secret that seals Spotify session cookies (the tokens live in the browser, sealed
  // with AES-256-GCM under a key made from it). Empty: derived from the web principal's
  // secret key, as share links are. Replicas that share it serve each other's sessions.
  std::string session_secret;
  // Let image URLs reach loopback and private addresses (tests). Default: false.
  bool allow_private_fetch = false;

  // The bundled sample set (JPEG/PNG/WebP files, ordered by index.tsv when present). Empty:
  // no samples.
  std::string samples_dir;

  SpotifyOptions spotify;
};

class WebServer {
 public:
  // Validates the options and starts serving. Errors: InvalidArgument (bad options),
  // Unavailable (address in use).
  static Result<std::unique_ptr<WebServer>> Start(WebOptions options);
  virtual ~WebServer() = default;
  virtual uint16_t port() const = 0;
  // Function invocations made so far (all jobs).
  virtual uint64_t invocations() const = 0;
  // Stops accepting, ends open requests and jobs, joins all threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace sparkify::web
