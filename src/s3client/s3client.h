// S3Client: a small S3 client over libcurl (SigV4-signed, path-style or virtual-hosted), plus
// PresignS3Url, the pure function behind `sparkify presign`.
//
// S3Client is thread-safe: every call uses its own curl handle, and the object holds only
// immutable options. Calls block until the response is read or a timeout fires.
//
// Errors come back as Status values. For an S3 error response the message is
//   "[HTTP <status> <Code>] <Message>"   e.g. "[HTTP 404 NoSuchKey] The specified key does not..."
// (S3ErrorOf parses it back), and the Status code follows the HTTP status: 404 NotFound,
// 403 PermissionDenied, 400/411/416 InvalidArgument, 409 AlreadyExists for BucketAlready* and
// FailedPrecondition otherwise, 412 FailedPrecondition, 429/5xx Unavailable. HEAD responses have
// no body; their Code is "NotFound", "Forbidden" or "HTTP<status>". Transport failures are
// Unavailable (cannot connect), DeadlineExceeded (timeout) or IOError; local file errors IOError.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "s3client/credentials.h"
#include "sigv4/sigv4.h"

namespace sparkify::s3client {

// How a bucket appears in the URL.
enum class Addressing {
  kAuto,           // virtual-hosted on https://s3.amazonaws.com for DNS-safe names, else path
  kPath,           // ENDPOINT/BUCKET/KEY
  kVirtualHosted,  // BUCKET.HOST/KEY
};

struct ClientOptions {
  // scheme://host[:port], no path. Default: AWS.
  std::string endpoint = "https://s3.amazonaws.com";
  std::string region = "us-east-1";
  Addressing addressing = Addressing::kAuto;
  sigv4::Credentials credentials;  // session_token optional
  // When set, each signature asks it for the key (credentials.h) instead of `credentials`.
  std::shared_ptr<CredentialSource> credential_source;
  // 0 means no limit. The connect timeout also bounds DNS and the TLS handshake.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000};
  bool verify_tls = true;
  std::string ca_file;  // PEM bundle; empty: the system's
  std::string user_agent = "sparkify-s3client/0.1";
  // Sign a SHA-256 of every body (reads files twice). false: UNSIGNED-PAYLOAD (over https only
  // if the server insists on signed payloads over http).
  bool sign_payload = true;
  const Clock* clock = &Clock::System();  // signing time; REQUIRES: outlives the client
};

struct PutOptions {
  std::string content_type;  // empty: binary/octet-stream, as S3 assumes
  // User metadata, names without the "x-amz-meta-" prefix ("owner" -> x-amz-meta-owner).
  std::vector<std::pair<std::string, std::string>> metadata;
  // PutObject only (PutObjectFromFile refuses it): send x-amz-checksum-sha256, the body's SHA-256.
  // S3 refuses the PUT if the body it received does not match, keeps the checksum with the object
  // and gives it back to a HEAD or GET in checksum mode (HeadOptions::checksum_mode). Default:
  // false.
  bool checksum_sha256 = false;
  // PutObject only: the body's SHA-256 (32 raw bytes) when the caller has it already, so the
  // body is not hashed again (for the checksum or the payload signature). A wrong one makes the
  // server refuse the PUT. Empty: computed here when needed.
  std::string body_sha256;
  // A conditional write (S3's conditional PUT): `if_match` (an ETag, quotes and all): only
  // over the object that has it; `if_none_match_any`: only when no object has the key. Else
  // 412 PreconditionFailed (FailedPrecondition; S3ErrorOf tells the code), or 409
  // ConditionalRequestConflict when a concurrent write to the key won.
  std::string if_match;
  bool if_none_match_any = false;
};

struct PutResult {
  std::string etag;  // with its quotes, as S3 sends it
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;
  std::string content_type;
  TimePoint last_modified{};
  std::vector<std::pair<std::string, std::string>> metadata;  // lowercased names, no prefix
  // x-amz-checksum-sha256 as S3 sent it (base64), when asked for (HeadOptions::checksum_mode)
  // and the object has one. A multipart object's is a checksum of its parts' checksums with
  // "-<parts>" appended, not the SHA-256 of its bytes: see FullObjectSha256Hex.
  std::string checksum_sha256;
  // x-amz-checksum-type when sent: "FULL_OBJECT" or "COMPOSITE".
  std::string checksum_type;

  // The lowercase hex SHA-256 of the object's bytes, from checksum_sha256 when that is a
  // whole object's checksum (32 bytes in base64, no part count, not typed COMPOSITE); empty
  // otherwise.
  std::string FullObjectSha256Hex() const;
};

struct HeadOptions {
  // Send x-amz-checksum-mode: ENABLED, so the object's stored checksums come back
  // (ObjectInfo::checksum_sha256). Needs s3:GetObject (and kms:Decrypt for SSE-KMS objects).
  bool checksum_mode = false;
};

struct GetResult {
  // info.size is the whole object's size, also for a range (from Content-Range).
  ObjectInfo info;
  std::string body;
};

struct GetOptions {
  // Objects larger than this fail with ResourceExhausted instead of filling memory.
  uint64_t max_bytes = 64ull << 20;
  // Only the bytes first..last (inclusive; a Range request, answered 206). A range past the
  // object's end is cut at the end; one that starts past it fails (416 InvalidRange).
  std::optional<std::pair<uint64_t, uint64_t>> range;
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;
  std::string start_after;
  int max_keys = 0;  // 0: the server's default (1000)
};

struct ObjectSummary {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  TimePoint last_modified{};
  std::string storage_class;
};

struct ListResult {
  std::vector<ObjectSummary> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;  // pass back in ListOptions to get the next page
};

// The parts of an S3 error carried by a Status from this library.
struct S3Error {
  int http_status = 0;
  std::string code;     // "NoSuchKey"
  std::string message;  // S3's message
};
// nullopt when the Status did not come from an S3 error response.
std::optional<S3Error> S3ErrorOf(const Status& status);

// The response headers a presigned GET may override (S3's response-* query parameters, signed
// with the URL): what the store answers with instead of the object's own.
struct ResponseOverrides {
  std::string content_disposition;  // e.g. attachment; filename="collage.png"
  std::string content_type;
  std::string cache_control;
};

// What a presigned POST form allows (S3 POST Object; docs/s3.md, "POST Object").
struct PostPolicyOptions {
  // The object's key; a key ending in "${filename}" allows any file name after its prefix.
  std::string key;
  int64_t expires_seconds = 900;  // 1..604800
  // content-length-range, when max_bytes > 0.
  uint64_t min_bytes = 0;
  uint64_t max_bytes = 0;
  // When set, the form must send a Content-Type field starting with this ("image/").
  std::string content_type_prefix;
  // Fields the form sends as they are (eq conditions), e.g. success_action_status.
  std::vector<std::pair<std::string, std::string>> fields;
};

// A form for a browser: POST `url` as multipart/form-data with `fields` in order, then the
// Content-Type field if the policy asks for one, then the file as the part named "file".
struct PresignedPost {
  std::string url;
  std::vector<std::pair<std::string, std::string>> fields;
};

class S3Client {
 public:
  // Cheap; no connection is made until the first call.
  explicit S3Client(ClientOptions options);

  // PUT /BUCKET, with a LocationConstraint unless the region is us-east-1.
  Status CreateBucket(std::string_view bucket);
  Result<PutResult> PutObject(std::string_view bucket, std::string_view key, std::string_view body,
                              const PutOptions& options = {});
  // Streams the file from disk; REQUIRES: the file does not change during the call.
  Result<PutResult> PutObjectFromFile(std::string_view bucket, std::string_view key,
                                      const std::string& path, const PutOptions& options = {});
  Result<GetResult> GetObject(std::string_view bucket, std::string_view key,
                              const GetOptions& options = {});
  // Writes to a temporary file beside `path` and renames it into place on success, so `path`
  // is never left half written.
  Result<ObjectInfo> GetObjectToFile(std::string_view bucket, std::string_view key,
                                     const std::string& path);
  Result<ObjectInfo> HeadObject(std::string_view bucket, std::string_view key,
                                const HeadOptions& options = {});
  // Succeeds for a missing key too, as S3 does.
  Status DeleteObject(std::string_view bucket, std::string_view key);
  Result<ListResult> ListObjectsV2(std::string_view bucket, const ListOptions& options = {});
  // A presigned GET or PUT (method "GET"/"PUT") URL for this client's endpoint, valid for
  // expires_seconds (1..604800) from now. Overrides are for GET only (InvalidArgument on a PUT).
  Result<std::string> PresignUrl(std::string_view method, std::string_view bucket,
                                 std::string_view key, int64_t expires_seconds,
                                 const ResponseOverrides& overrides = {});
  // A signed upload form for `bucket`, from this client's credentials. InvalidArgument for a
  // bad name, key or expiry.
  Result<PresignedPost> PresignPost(std::string_view bucket, const PostPolicyOptions& policy) const;
  // Where this client's URLs for `bucket` point: "scheme://host[:port]", e.g.
  // "http://127.0.0.1:9100" (path-style) or "https://sparkify.s3.amazonaws.com".
  Result<std::string> BucketOrigin(std::string_view bucket) const;

  const ClientOptions& options() const { return options_; }
  // When the key held ends (nullopt: it does not). A URL or form signed with a key lives no
  // longer than the key: PresignUrl and PresignPost shorten their expiry to it, and refuse
  // (Unavailable) when it has ended and the source could not renew it.
  std::optional<TimePoint> KeyExpiration() const;

 private:
  ClientOptions options_;
};

// ---------------------------------------------------------------------------------------------
// `sparkify presign`: s3://BUCKET/KEY -> presigned URL, without a client or any I/O.

struct PresignRequest {
  std::string s3_url;  // "s3://BUCKET/KEY"
  std::string method = "GET";
  // https://s3.amazonaws.com -> https://BUCKET.s3.amazonaws.com/KEY (as the SDKs do, unless
  // the bucket name is not DNS-safe); any other endpoint -> ENDPOINT/BUCKET/KEY.
  std::string endpoint = "https://s3.amazonaws.com";
  std::string region = "us-east-1";
  int64_t expires_seconds = 3600;  // 1..604800
  TimePoint time{};                // the signing time
  sigv4::Credentials credentials;
};

// InvalidArgument for a malformed s3:// URL, endpoint, method or expiry.
Result<std::string> PresignS3Url(const PresignRequest& request);

}  // namespace sparkify::s3client
