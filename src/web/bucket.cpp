#include "web/internal/bucket.h"

#include <spdlog/spdlog.h>

namespace sparkify::web::internal {
namespace {

s3client::ClientOptions ClientFor(const WebOptions& o) {
  s3client::ClientOptions c;
  if (!o.s3_endpoint.empty()) {
    c.endpoint = o.s3_endpoint;
  } else if (o.s3_region != "us-east-1") {
    c.endpoint = "https://s3." + o.s3_region + ".amazonaws.com";
  }
  c.region = o.s3_region;
  c.credentials = o.credentials;
  c.credential_source = o.credential_source;
  c.request_timeout = std::chrono::seconds(60);
  c.user_agent = "sparkify-web/0.1";
  return c;
}

}  // namespace

Bucket::Bucket(const WebOptions& options)
    : bucket_(options.bucket), expires_(options.url_expires_seconds), client_(ClientFor(options)) {
  auto origin = client_.BucketOrigin(bucket_);
  if (origin.ok()) origin_ = std::move(*origin);
}

Status Bucket::Put(const std::string& key, std::string_view bytes, const std::string& content_type,
                   std::string sha256) {
  s3client::PutOptions put;
  put.content_type = content_type;
  put.checksum_sha256 = true;  // the function then knows the cover by its HEAD, unread
  put.body_sha256 = std::move(sha256);
  auto r = client_.PutObject(bucket_, key, bytes, put);
  return r.ok() ? Status::OK() : r.status();
}

Result<std::string> Bucket::Get(const std::string& key, uint64_t max_bytes) {
  s3client::GetOptions get;
  get.max_bytes = max_bytes;
  SPARKIFY_ASSIGN_OR_RETURN(auto r, client_.GetObject(bucket_, key, get));
  return std::move(r.body);
}

Result<bool> Bucket::Exists(const std::string& key) {
  auto r = client_.HeadObject(bucket_, key);
  if (r.ok()) return true;
  if (r.status().IsNotFound()) return false;
  return r.status();
}

namespace {

// A missing object as S3 says it: NoSuchKey, or AccessDenied to a reader without
// s3:ListBucket (`log`: say so, since a policy without s3:GetObject on the key says the same).
bool Missing(const Status& status, const std::string& key, bool log) {
  const auto error = s3client::S3ErrorOf(status);
  if (!error || (error->code != "NoSuchKey" && error->code != "AccessDenied")) return false;
  if (error->code == "AccessDenied" && log) {
    spdlog::warn("web: GET {}: AccessDenied, taken as a missing object ({})", key, error->message);
  }
  return true;
}

}  // namespace

Status CheckBucketAccess(const WebOptions& options) {
  s3client::ClientOptions c = ClientFor(options);
  c.connect_timeout = std::chrono::seconds(3);  // at start, SIGTERM waits for it: briefly
  c.request_timeout = std::chrono::seconds(5);
  s3client::S3Client client(c);
  s3client::GetOptions get;
  get.max_bytes = 1;
  auto r = client.GetObject(options.bucket, "jobs/.sparkify-access-check", get);
  if (r.ok()) return Status::OK();
  const auto error = s3client::S3ErrorOf(r.status());
  if (!error) return r.status();  // no answer from the store (unreachable, ...)
  // NoSuchKey, or AccessDenied (S3's answer for a missing key without s3:ListBucket, and for
  // a bucket this key may not read): the key works.
  if (error->code == "NoSuchKey" || error->code == "AccessDenied") return Status::OK();
  const std::string what = "the bucket " + options.bucket +
                           " cannot be used with the web app's key: " + error->code + ": " +
                           error->message;
  for (const char* fatal :
       {"InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "InvalidToken",
        "ExpiredToken", "InvalidBucketName", "AuthorizationHeaderMalformed", "PermanentRedirect",
        "RequestTimeTooSkewed"}) {
    if (error->code == fatal) return Status::FailedPrecondition(what);
  }
  return Status::Unavailable(what);  // the store's trouble (5xx, SlowDown): maybe passing
}

Result<std::optional<Bucket::Prefix>> Bucket::ReadPrefix(const std::string& key,
                                                         uint64_t max_bytes) {
  s3client::GetOptions get;
  get.range = {0, max_bytes - 1};
  get.max_bytes = max_bytes;
  auto r = client_.GetObject(bucket_, key, get);
  if (!r.ok()) {
    if (Missing(r.status(), key, true)) return std::optional<Prefix>();
    const auto error = s3client::S3ErrorOf(r.status());
    if (error && error->code == "InvalidRange") {  // a range starting past the end: empty
      return std::optional<Prefix>(Prefix{"", 0, ""});
    }
    return r.status();
  }
  return std::optional<Prefix>(Prefix{std::move(r->body), r->info.size, r->info.content_type});
}

Result<std::optional<Bucket::Versioned>> Bucket::GetVersioned(const std::string& key,
                                                              uint64_t max_bytes) {
  s3client::GetOptions get;
  get.max_bytes = max_bytes;
  auto r = client_.GetObject(bucket_, key, get);
  if (!r.ok()) {
    // Not logged: job records are read at every request (failed saves are logged).
    if (Missing(r.status(), key, false)) return std::optional<Versioned>();
    return r.status();
  }
  return std::optional<Versioned>(Versioned{std::move(r->body), std::move(r->info.etag)});
}

Result<std::string> Bucket::PutIf(const std::string& key, std::string_view bytes,
                                  const std::string& content_type, const std::string& etag) {
  s3client::PutOptions put;
  put.content_type = content_type;
  put.checksum_sha256 = true;
  if (etag.empty()) {
    put.if_none_match_any = true;
  } else {
    put.if_match = etag;
  }
  SPARKIFY_ASSIGN_OR_RETURN(auto r, client_.PutObject(bucket_, key, bytes, put));
  return std::move(r.etag);
}

Result<s3client::PresignedPost> Bucket::SignUpload(const std::string& key,
                                                   const std::string& content_type,
                                                   uint64_t max_bytes, int64_t expires_seconds) {
  s3client::PostPolicyOptions policy;
  policy.key = key;
  policy.expires_seconds = expires_seconds;
  policy.min_bytes = 1;
  policy.max_bytes = max_bytes;
  policy.fields = {{"Content-Type", content_type}};
  return client_.PresignPost(bucket_, policy);
}

Result<SignedUrl> Bucket::SignGet(const std::string& key, const std::string& attachment_name) {
  SignedUrl out;
  out.expires_at = client_.options().clock->Now() + std::chrono::seconds(expires_);
  if (auto key_ends = client_.KeyExpiration(); key_ends && *key_ends < out.expires_at) {
    out.expires_at = *key_ends;  // the URL dies with the key it is signed with
  }
  s3client::ResponseOverrides overrides;
  if (!attachment_name.empty()) {
    overrides.content_disposition = "attachment; filename=\"" + attachment_name + "\"";
  }
  SPARKIFY_ASSIGN_OR_RETURN(out.url, client_.PresignUrl("GET", bucket_, key, expires_, overrides));
  return out;
}

}  // namespace sparkify::web::internal
