// `sparkify web`: the web app's backend (src/web), run inside sparkify-ai since it renders the
// share PNG with OpenCV. Its configuration comes from flags and these variables:
//
//   flag                    variable                        default
//   --listen HOST:PORT      SPARKIFY_WEB_LISTEN             127.0.0.1:8080
//   --bucket NAME           SPARKIFY_BUCKET                 sparkify
//   --s3-endpoint URL       SPARKIFY_S3_ENDPOINT            empty: AWS S3 in the region
//   --region R              AWS_REGION                      us-east-1 (S3 and Lambda)
//   --function-url URL      SPARKIFY_FUNCTION_URL           empty: AWS Lambda in the region
//   --function-name NAME    SPARKIFY_FUNCTION_NAME          function
//   --segment-concurrency N SPARKIFY_SEGMENT_CONCURRENCY    4
//   --url-expires S         SPARKIFY_URL_EXPIRES            3600
//   --share-expires S       SPARKIFY_SHARE_EXPIRES          604800 (7 days)
//   --public-url URL        SPARKIFY_PUBLIC_URL             empty: the Host the browser sent
//   --max-file-bytes N      SPARKIFY_MAX_FILE_BYTES         10485760
//   --samples DIR           SPARKIFY_SAMPLES_DIR            $SPARKIFY_CACHE/samples
//   --trusted-proxies CIDRS SPARKIFY_TRUSTED_PROXIES        empty: the TCP peer is the client
//   --allow-private-fetch   SPARKIFY_ALLOW_PRIVATE_FETCH    off
//   --direct-uploads B      SPARKIFY_DIRECT_UPLOADS         true (the bucket needs CORS)
// The web principal's key: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or *_FILE),
// AWS_SESSION_TOKEN; without AWS_ACCESS_KEY_ID, a role's rotating key from the container
// credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, which ECS sets, or _FULL_URI,
// with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]), which then needs both secrets below set.
// Share links are sealed with SPARKIFY_SHARE_SECRET (or *_FILE), and
// Spotify session cookies with SPARKIFY_SESSION_SECRET (or *_FILE), each else with a key
// derived from AWS_SECRET_ACCESS_KEY. Spotify (off unless both are set):
// SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET (or *_FILE), SPOTIFY_REDIRECT_URI, SPOTIFY_AUTH_URL,
// SPOTIFY_TOKEN_URL, SPOTIFY_API_URL.
#include <iostream>

#include "cli/commands.h"
#include "cli/env.h"
#include "s3client/credentials.h"
#include "web/web.h"

namespace sparkify::cli {
namespace {

struct WebFlags {
  web::WebOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string samples;
};

// Reads a secret variable into *out; prints and returns false when its *_FILE is unreadable.
bool Secret(const std::string& var, std::string* out) {
  auto v = SecretFromEnv(var);
  if (!v.ok()) {
    std::cerr << "sparkify web: " << v.status().message() << "\n";
    return false;
  }
  if (v->has_value()) *out = **v;
  return true;
}

int RunWeb(WebFlags& f) {
  web::WebOptions& o = f.options;
  if (Status s = ParseListen(f.listen, &o.host, &o.port); !s.ok()) {
    std::cerr << "sparkify web: " << s.message() << "\n";
    return 2;
  }
  if (!Secret("AWS_ACCESS_KEY_ID", &o.credentials.access_key_id) ||
      !Secret("AWS_SECRET_ACCESS_KEY", &o.credentials.secret_access_key) ||
      !Secret("SPOTIFY_CLIENT_SECRET", &o.spotify.client_secret) ||
      !Secret("SPARKIFY_SHARE_SECRET", &o.share_secret) ||
      !Secret("SPARKIFY_SESSION_SECRET", &o.session_secret)) {
    return 2;
  }
  o.credentials.session_token = Env("AWS_SESSION_TOKEN").value_or("");
  if (o.credentials.access_key_id.empty()) {
    // No key in the environment: a role's, from the container credentials endpoint (ECS).
    auto endpoint = s3client::ContainerEndpointFrom(Env);
    if (!endpoint.ok()) {
      std::cerr << "sparkify web: " << endpoint.status().message() << "\n";
      return 2;
    }
    if (endpoint->has_value()) {
      // A URL signed now still lives its whole time with the key it was signed with.
      const std::chrono::seconds refresh_before(o.url_expires_seconds + 300);
      (*endpoint)->refresh_before = refresh_before;
      auto source = s3client::CredentialSource::FromContainer(std::move(**endpoint));
      if (!source.ok()) {
        std::cerr << "sparkify web: no key from the container credentials endpoint: "
                  << source.status().message() << "\n";
        return 2;
      }
      o.credential_source = std::move(*source);
      if (auto ends = o.credential_source->expiration();
          ends && *ends - Clock::System().Now() < refresh_before) {
        std::cerr << "sparkify web: the role's key lives less than --url-expires + 5 minutes: "
                     "signed URLs and upload forms end with it, and it is asked for again "
                     "every 10 s\n";
      }
    }
  }
  o.spotify.client_id = Env("SPOTIFY_CLIENT_ID").value_or("");
  if (auto v = Env("SPOTIFY_REDIRECT_URI")) o.spotify.redirect_uri = *v;
  if (auto v = Env("SPOTIFY_AUTH_URL")) o.spotify.auth_url = *v;
  if (auto v = Env("SPOTIFY_TOKEN_URL")) o.spotify.token_url = *v;
  if (auto v = Env("SPOTIFY_API_URL")) o.spotify.api_url = *v;
  if (f.samples.empty()) {
    std::string cache =
        Env("SPARKIFY_CACHE").value_or(Env("HOME").value_or(".") + "/.cache/sparkify");
    f.samples = cache + "/samples";
  }
  o.samples_dir = f.samples == "none" ? "" : f.samples;
  o.function.region = o.s3_region;

  BlockStopSignals();
  auto server = web::WebServer::Start(o);
  if (!server.ok()) {
    std::cerr << "sparkify web: " << server.status().message() << "\n";
    return 2;
  }
  std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  // Tests and `sparkify up` read this line to learn the port.
  std::cout << "sparkify web listening on http://" << host << ":" << (*server)->port()
            << " (bucket " << o.bucket << ", function "
            << (o.function.url.empty() ? o.function.name + " in " + o.function.region
                                       : o.function.url)
            << ", spotify " << (o.spotify.enabled() ? "on" : "off") << ")" << std::endl;
  int sig = WaitForStopSignal();
  std::cerr << "sparkify web: signal " << sig << ", stopping\n";
  (*server)->Stop();
  return 0;
}

}  // namespace

void RegisterWeb(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WebFlags>();
  web::WebOptions& o = flags->options;
  auto* cmd = app.add_subcommand("web", "Run the web app: the page and its JSON API");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->envname("SPARKIFY_WEB_LISTEN")
      ->capture_default_str();
  cmd->add_option("--bucket", o.bucket, "Bucket for covers, cut-outs and collages")
      ->envname("SPARKIFY_BUCKET")
      ->capture_default_str();
  cmd->add_option("--s3-endpoint", o.s3_endpoint,
                  "S3 endpoint, e.g. http://127.0.0.1:9100 (default: AWS S3 in the region)")
      ->envname("SPARKIFY_S3_ENDPOINT");
  cmd->add_option("--region", o.s3_region, "Region of the bucket and the function")
      ->envname("AWS_REGION")
      ->capture_default_str();
  cmd->add_option("--function-url", o.function.url,
                  "The function's invoke endpoint, e.g. http://127.0.0.1:9000 (default: AWS "
                  "Lambda in the region)")
      ->envname("SPARKIFY_FUNCTION_URL");
  cmd->add_option("--function-name", o.function.name, "The function's name")
      ->envname("SPARKIFY_FUNCTION_NAME")
      ->capture_default_str();
  cmd->add_option("--segment-concurrency", o.segment_concurrency,
                  "Covers of one job segmented at once (one invoke each)")
      ->envname("SPARKIFY_SEGMENT_CONCURRENCY")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  cmd->add_option("--url-expires", o.url_expires_seconds, "Seconds a signed image URL lives")
      ->envname("SPARKIFY_URL_EXPIRES")
      ->check(CLI::Range(1, 604800))
      ->capture_default_str();
  cmd->add_option("--share-expires", o.share_link_seconds,
                  "Seconds a share link (/s/...) lives; its image is signed afresh at each view")
      ->envname("SPARKIFY_SHARE_EXPIRES")
      ->check(CLI::Range(int64_t{60}, int64_t{31536000}))
      ->capture_default_str();
  cmd->add_option("--trusted-proxies", o.trusted_proxies,
                  "Load balancers in front of this app, as CIDR blocks (their subnets, e.g. "
                  "10.0.1.0/24,10.0.2.0/24; nothing else in them may reach the app): their "
                  "X-Forwarded-For and X-Forwarded-Proto name the client and its scheme")
      ->envname("SPARKIFY_TRUSTED_PROXIES");
  cmd->add_option("--public-url", o.public_url,
                  "The address people reach this app at, for share links, e.g. "
                  "https://collage.example (default: the Host the browser sent)")
      ->envname("SPARKIFY_PUBLIC_URL");
  cmd->add_option("--max-file-bytes", o.max_file_bytes, "Largest cover accepted, bytes")
      ->envname("SPARKIFY_MAX_FILE_BYTES")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{64} << 20))
      ->capture_default_str();
  cmd->add_option("--max-running-jobs", o.max_running_jobs,
                  "Collages made at once; more wait in a fair queue")
      ->envname("SPARKIFY_MAX_RUNNING_JOBS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--max-queued-jobs", o.max_queued_jobs,
                  "Collages that may wait for a free slot; beyond: 503 busy")
      ->envname("SPARKIFY_MAX_QUEUED_JOBS")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--client-running-jobs", o.client_running_jobs,
                  "Collages one client (remote address) may have in the making (0: no limit)")
      ->envname("SPARKIFY_CLIENT_RUNNING_JOBS")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--client-covers-per-minute", o.client_covers_per_minute,
                  "Covers one client may submit a minute (0: no limit)")
      ->envname("SPARKIFY_CLIENT_COVERS_PER_MINUTE")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--client-actions-per-minute", o.client_actions_per_minute,
                  "New layouts and share pictures one client may ask for a minute (0: no limit)")
      ->envname("SPARKIFY_CLIENT_ACTIONS_PER_MINUTE")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--samples", flags->samples,
                  "Sample images dir (default $SPARKIFY_CACHE/samples; 'none': no samples)")
      ->envname("SPARKIFY_SAMPLES_DIR");
  cmd->add_flag("--allow-private-fetch", o.allow_private_fetch,
                "Let image URLs reach loopback, private and link-local addresses")
      ->envname("SPARKIFY_ALLOW_PRIVATE_FETCH");
  cmd->add_option("--direct-uploads", o.direct_uploads,
                  "The page sends files straight to the bucket with signed POST forms (the "
                  "bucket needs a CORS rule letting this app's origin POST); false: through "
                  "this server")
      ->envname("SPARKIFY_DIRECT_UPLOADS")
      ->capture_default_str();
  cmd->callback([flags, exit_code] { *exit_code = RunWeb(*flags); });
}

}  // namespace sparkify::cli
