// Internal: the web app's view of the bucket, through the web principal's key: store covers
// and collage PNGs, read images back for rendering, and sign GET URLs for the browser.
// Thread-safe (S3Client is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "s3client/s3client.h"
#include "web/web.h"

namespace sparkify::web::internal {

struct SignedUrl {
  std::string url;
  TimePoint expires_at;
};

// At start: whether the bucket takes the web app's key, by reading a key that is not there (a
// GET: its error has a body, a HEAD's not), within a few seconds. FailedPrecondition when the
// answer says the key, the bucket or the region is wrong (InvalidAccessKeyId,
// SignatureDoesNotMatch, NoSuchBucket, AuthorizationHeaderMalformed, an expired or bad session
// token, a clock too far off), naming the code; Unavailable for the store's other errors and
// no answer at all (the caller goes on with a warning: the store may come later).
Status CheckBucketAccess(const WebOptions& options);

class Bucket {
 public:
  explicit Bucket(const WebOptions& options);

  // With the bytes' SHA-256 (x-amz-checksum-sha256), which the store verifies and keeps: the
  // function knows a cover by its HEAD, without reading it. `sha256` (32 raw bytes), when the
  // caller has it, spares hashing the bytes again.
  Status Put(const std::string& key, std::string_view bytes, const std::string& content_type,
             std::string sha256 = {});
  Result<std::string> Get(const std::string& key, uint64_t max_bytes);
  // Whether the object is there (HEAD); a store that cannot answer is an error.
  Result<bool> Exists(const std::string& key);
  // The first `max_bytes` (> 0) of the object (one ranged GET), with its whole size and
  // type; nullopt when there is no such object (NoSuchKey, or AccessDenied: S3's answer for
  // a missing key to a reader without s3:ListBucket, which the web principal is).
  struct Prefix {
    std::string bytes;
    uint64_t size = 0;
    std::string content_type;
  };
  Result<std::optional<Prefix>> ReadPrefix(const std::string& key, uint64_t max_bytes);
  // The object's bytes (at most `max_bytes`) and its ETag; nullopt when there is none
  // (NoSuchKey, or AccessDenied as for ReadPrefix).
  struct Versioned {
    std::string body;
    std::string etag;
  };
  Result<std::optional<Versioned>> GetVersioned(const std::string& key, uint64_t max_bytes);
  // A conditional PUT: over the version `etag` names, or only if there is no object when it is
  // empty; the new ETag. FailedPrecondition when the condition fails (another writer).
  Result<std::string> PutIf(const std::string& key, std::string_view bytes,
                            const std::string& content_type, const std::string& etag);
  // A form with which a browser uploads one file as `key` (S3 POST Object): at most
  // `max_bytes`, exactly `content_type`, within `expires_seconds`.
  Result<s3client::PresignedPost> SignUpload(const std::string& key,
                                             const std::string& content_type, uint64_t max_bytes,
                                             int64_t expires_seconds);
  // A presigned GET URL valid for url_expires_seconds. `attachment_name` non-empty: the
  // answer carries Content-Disposition: attachment; filename="NAME".
  Result<SignedUrl> SignGet(const std::string& key, const std::string& attachment_name = "");
  // "http://127.0.0.1:9100" or "https://sparkify.s3.amazonaws.com": where signed URLs point
  // (for the Content-Security-Policy's img-src).
  const std::string& origin() const { return origin_; }
  const std::string& name() const { return bucket_; }

 private:
  std::string bucket_;
  int64_t expires_;
  s3client::S3Client client_;
  std::string origin_;
};

}  // namespace sparkify::web::internal
