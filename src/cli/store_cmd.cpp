// `sparkify store`: the embedded S3-compatible object store.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "cli/commands.h"
#include "cli/env.h"
#include "diskstore/disk_store.h"
#include "http/http.h"
#include "iam/identity.h"
#include "store/s3_service.h"

namespace sparkify::cli {
namespace {

struct StoreFlags {
  std::string data_dir;
  std::string listen = "127.0.0.1:9100";
  std::string tls_cert, tls_key;
  std::string region = "us-east-1";
  std::string domain = "s3.localhost";
  int max_connections = 4096;
  int max_connections_per_ip = 128;
  uint64_t max_object_size = 5ull << 30;
  uint64_t min_free = 256ull << 20;
  uint64_t abort_uploads_after_s = 7 * 24 * 3600;
  int header_timeout_s = 10;
  int idle_timeout_s = 60;
  int io_timeout_s = 60;
  std::vector<std::string> buckets;
  std::vector<std::string> cors_origins;  // put on the --create-bucket buckets
  std::vector<std::string> expire;        // PREFIX=AGE
  std::string default_encryption = "none";
  std::string encryption_key_file;
};

// An object expiration rule: objects under `prefix` are deleted `age` after they were written.
struct ExpireRule {
  std::string prefix;
  std::chrono::seconds age{0};
};

// The units of an age: "90" (seconds), "90m", "36h", "7d".
const std::map<std::string, uint64_t>& AgeUnits() {
  static const std::map<std::string, uint64_t> units{
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  return units;
}

// Seconds in an age (AgeUnits); nullopt if malformed or over ten years.
std::optional<int64_t> ParseAge(std::string_view text) {
  int64_t unit = 1;
  if (!text.empty()) {
    auto u = AgeUnits().find(std::string(1, text.back()));
    if (u != AgeUnits().end()) {
      unit = static_cast<int64_t>(u->second);
      text.remove_suffix(1);
    }
  }
  if (text.empty() || text.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n * unit > int64_t{3650} * 86400) return std::nullopt;
  return n * unit;
}

// The store's lifecycle, as S3 lifecycle rules would do it: aborts multipart uploads older
// than `abort_after` and deletes objects past their rule's age, at start and then every
// min(shortest age / 4, 1 h), until stopped.
class LifecycleSweeper {
 public:
  LifecycleSweeper(diskstore::DiskStore* disk, std::chrono::seconds abort_after,
                   std::vector<ExpireRule> rules)
      : disk_(disk), abort_after_(abort_after), rules_(std::move(rules)) {
    std::chrono::seconds shortest = std::chrono::hours(4);
    if (abort_after_.count() > 0) shortest = std::min(shortest, abort_after_);
    for (const auto& r : rules_) shortest = std::min(shortest, r.age);
    period_ = shortest / 4 + std::chrono::seconds(1);
    if (abort_after_.count() > 0 || !rules_.empty()) thread_ = std::thread([this] { Run(); });
  }
  ~LifecycleSweeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Sweep() {
    TimePoint now = Clock::System().Now();
    if (abort_after_.count() > 0) {
      auto aborted = disk_->AbortUploadsInitiatedBefore(now - abort_after_);
      if (!aborted.ok()) {
        spdlog::warn("store: aborting old uploads: {}", aborted.status().ToString());
      } else if (*aborted > 0) {
        spdlog::info("store: aborted {} multipart uploads started over {} s ago", *aborted,
                     abort_after_.count());
      }
    }
    for (const auto& r : rules_) {
      auto expired = disk_->ExpireObjects(r.prefix, now - r.age);
      if (!expired.ok()) {
        spdlog::warn("store: expiring {}: {}", r.prefix, expired.status().ToString());
      } else if (*expired > 0) {
        spdlog::info("store: expired {} objects under '{}' written over {} s ago", *expired,
                     r.prefix, r.age.count());
      }
    }
  }

  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      Sweep();
      lock.lock();
      cv_.wait_for(lock, period_, [this] { return stop_; });
    }
  }

  diskstore::DiskStore* disk_;
  std::chrono::seconds abort_after_;
  std::vector<ExpireRule> rules_;
  std::chrono::seconds period_{3600};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The root key from SPARKIFY_ROOT_* (or their *_FILE variants).
Result<sigv4::Credentials> RootKey() {
  auto id = SecretFromEnv("SPARKIFY_ROOT_ACCESS_KEY_ID");
  auto secret = SecretFromEnv("SPARKIFY_ROOT_SECRET_ACCESS_KEY");
  if (!id.ok() || !secret.ok()) return !id.ok() ? id.status() : secret.status();
  if (!id->has_value() || !secret->has_value()) {
    return Status::InvalidArgument(
        "set SPARKIFY_ROOT_ACCESS_KEY_ID and SPARKIFY_ROOT_SECRET_ACCESS_KEY (or their *_FILE "
        "variants) to the root credentials");
  }
  return sigv4::Credentials{**id, **secret, ""};
}

// --listen, --create-bucket and --expire, checked before anything starts.
Status CheckFlags(const StoreFlags& f, http::ServerOptions* http_opts,
                  std::vector<ExpireRule>* rules) {
  SPARKIFY_RETURN_IF_ERROR(ParseListen(f.listen, &http_opts->host, &http_opts->port));
  for (const auto& b : f.buckets) {
    if (!store::ValidBucketName(b)) {
      return Status::InvalidArgument(
          "--create-bucket " + b +
          ": not a valid S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-', starting "
          "and ending with a letter or digit)");
    }
  }
  if (!f.cors_origins.empty() && f.buckets.empty()) {
    return Status::InvalidArgument("--cors-origin applies to --create-bucket buckets: name one");
  }
  for (const auto& e : f.expire) {
    size_t eq = e.rfind('=');
    auto age =
        eq == std::string::npos ? std::nullopt : ParseAge(std::string_view(e).substr(eq + 1));
    if (!age || *age <= 0) {
      return Status::InvalidArgument(
          "--expire " + e +
          ": expected PREFIX=AGE, AGE in seconds or with a unit (30d, 12h, 90m), more than 0 "
          "and at most 10 years");
    }
    rules->push_back({e.substr(0, eq), std::chrono::seconds(*age)});
  }
  return Status::OK();
}

// The disk store in --data.
Result<std::unique_ptr<diskstore::DiskStore>> OpenDisk(const StoreFlags& f) {
  diskstore::DiskStoreOptions disk_opts;
  disk_opts.data_dir = f.data_dir;
  disk_opts.min_free_bytes = f.min_free;
  disk_opts.encryption_key_file = f.encryption_key_file;
  auto disk = diskstore::DiskStore::Open(disk_opts);
  if (!disk.ok() && disk.status().code() == Status::Code::kNoSpace) {
    return Status::NoSpace("cannot set up data dir " + f.data_dir + ": it is on a full disk (" +
                           disk.status().message() +
                           "); free some space, or use a data dir that was set up before (the "
                           "store starts on a full disk then, for reads and deletes)");
  }
  if (!disk.ok()) {
    return Status::IOError("cannot use data dir " + f.data_dir + ": " + disk.status().message());
  }
  return std::move(*disk);
}

// The buckets of --create-bucket (those that exist are kept), with the CORS rule of
// --cors-origin when given.
Status CreateBuckets(diskstore::DiskStore& disk, const StoreFlags& f) {
  for (const auto& b : f.buckets) {
    Status s = disk.CreateBucket(b);
    if (!s.ok() && s.code() != Status::Code::kAlreadyExists) {
      return Status::IOError("cannot create bucket " + b + ": " + s.message());
    }
    if (f.cors_origins.empty()) continue;
    s = store::AllowBrowserUploads(disk, b, f.cors_origins);
    if (!s.ok()) return Status::InvalidArgument("--cors-origin: " + s.message());
  }
  return Status::OK();
}

// The HTTP server's limits and TLS files from the flags.
void SetServerOptions(const StoreFlags& f, http::ServerOptions* http_opts) {
  http_opts->tls_cert_file = f.tls_cert;
  http_opts->tls_key_file = f.tls_key;
  http_opts->max_connections = f.max_connections;
  http_opts->max_connections_per_ip = f.max_connections_per_ip;
  http_opts->header_timeout = std::chrono::seconds(f.header_timeout_s);
  http_opts->idle_timeout = std::chrono::seconds(f.idle_timeout_s);
  http_opts->io_timeout = std::chrono::seconds(f.io_timeout_s);
  http_opts->server_name = "sparkify-store";
  http_opts->render_error = &store::S3Service::RenderServerError;
}

int RunStore(const StoreFlags& f) {
  auto fail = [](const Status& s) {
    std::cerr << "sparkify store: " << s.message() << "\n";
    return 2;
  };
  auto root = RootKey();
  if (!root.ok()) return fail(root.status());
  http::ServerOptions http_opts;
  std::vector<ExpireRule> rules;
  if (Status s = CheckFlags(f, &http_opts, &rules); !s.ok()) return fail(s);
  auto disk = OpenDisk(f);
  if (!disk.ok()) return fail(disk.status());
  auto identities = iam::IdentityStore::Open(f.data_dir, *root);
  if (!identities.ok()) return fail(identities.status());
  if (Status s = CreateBuckets(**disk, f); !s.ok()) return fail(s);
  store::S3ServiceOptions s3_opts;
  s3_opts.region = f.region;
  s3_opts.virtual_host_domain = f.domain;
  s3_opts.max_object_size = f.max_object_size;
  s3_opts.encrypt_by_default = f.default_encryption == "AES256";
  store::S3Service service(disk->get(), identities->get(), s3_opts);
  SetServerOptions(f, &http_opts);

  BlockStopSignals();
  // After BlockStopSignals: its thread inherits the mask, so SIGTERM reaches the sigwait.
  LifecycleSweeper sweeper(disk->get(), std::chrono::seconds(f.abort_uploads_after_s),
                           std::move(rules));
  auto server = http::Server::Start(
      http_opts, [&service](http::Request& req) { return service.Handle(req); });
  if (!server.ok()) return fail(server.status());
  std::string scheme = f.tls_cert.empty() ? "http" : "https";
  std::string host = http_opts.host.find(':') != std::string::npos ? "[" + http_opts.host + "]"
                                                                   : http_opts.host;
  // Tests and scripts read this line to learn the port.
  std::cout << "sparkify store listening on " << scheme << "://" << host << ":"
            << (*server)->port() << " (data " << f.data_dir << ", region " << f.region << ")"
            << std::endl;
  int sig = WaitForStopSignal();
  spdlog::info("store: signal {}, stopping", sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

void RegisterStore(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<StoreFlags>();
  auto* cmd = app.add_subcommand("store", "Run the embedded S3-compatible object store");
  cmd->add_option("--data", flags->data_dir, "Data directory (created if missing)")->required();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", flags->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key for --tls-cert");
  cmd->add_option("--region", flags->region, "Region to answer for")->capture_default_str();
  cmd->add_option("--domain", flags->domain,
                  "Virtual-hosted style domain: Host BUCKET.DOMAIN addresses BUCKET")
      ->capture_default_str();
  cmd->add_option("--max-connections", flags->max_connections,
                  "Open connections (idle ones cost no thread); at the limit the longest-idle "
                  "is closed to make room, else 503 SlowDown")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections-per-ip", flags->max_connections_per_ip,
                  "Open connections one client address may hold (0: no cap)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-object-size", flags->max_object_size, "Largest single PUT, bytes")
      ->capture_default_str();
  cmd->add_option("--min-free", flags->min_free,
                  "Free space kept on the data dir's disk: writes that would leave less are "
                  "refused with 507 XSparkifyStorageFull (bytes, or with a unit: 512MiB, 2GB; "
                  "0: none)")
      ->envname("SPARKIFY_STORE_MIN_FREE")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("256MiB");
  cmd->add_option("--abort-uploads-after", flags->abort_uploads_after_s,
                  "Abort multipart uploads not completed within this time (seconds, or with a "
                  "unit: 36h, 7d; 0: never), checked at start and then every quarter of the "
                  "shortest age (at most hourly)")
      ->envname("SPARKIFY_STORE_ABORT_UPLOADS_AFTER")
      ->transform(CLI::AsNumberWithUnit(AgeUnits()))
      ->default_str("7d");
  cmd->add_option("--header-timeout", flags->header_timeout_s,
                  "Seconds a request head may take from its first byte")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--idle-timeout", flags->idle_timeout_s,
                  "Seconds a keep-alive connection may wait for its next request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--io-timeout", flags->io_timeout_s,
                  "Seconds without progress before a body transfer is dropped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--default-encryption", flags->default_encryption,
                  "AES256: encrypt every object at rest (SSE-S3) in buckets without an "
                  "encryption configuration of their own, as S3 does; none: only writes that "
                  "ask for it (x-amz-server-side-encryption) and buckets configured for it")
      ->envname("SPARKIFY_STORE_DEFAULT_ENCRYPTION")
      ->check(CLI::IsMember({"none", "AES256"}))
      ->capture_default_str();
  cmd->add_option("--encryption-key-file", flags->encryption_key_file,
                  "The key of encryption at rest (64 hex digits; made 0600 at the first "
                  "encrypted write if missing). Default: DATA/sse-s3.key; keep it elsewhere "
                  "and a copy of the data dir alone does not reveal encrypted objects")
      ->envname("SPARKIFY_STORE_ENCRYPTION_KEY_FILE");
  cmd->add_option("--create-bucket", flags->buckets, "Create this bucket at start (repeatable)");
  cmd->add_option("--cors-origin", flags->cors_origins,
                  "Let web pages from this origin (http://127.0.0.1:8080; one '*' at most) "
                  "upload to the --create-bucket buckets with POST forms and read their "
                  "objects: puts that bucket CORS rule at every start, replacing the buckets' "
                  "CORS configuration (repeatable)");
  cmd->add_option("--expire", flags->expire,
                  "PREFIX=AGE: delete objects whose key starts with PREFIX AGE after they were "
                  "written (30d, 12h; repeatable), checked at start and then every quarter of "
                  "the shortest age (at most hourly), as an S3 lifecycle expiration rule");
  cmd->callback([flags, exit_code] {
    if (flags->tls_cert.empty() != flags->tls_key.empty()) {
      throw CLI::ValidationError("--tls-cert and --tls-key go together");
    }
    *exit_code = RunStore(*flags);
  });
}

}  // namespace sparkify::cli
