// AWS Signature Version 4: signing (clients, presigned URLs) and verification (servers).
//
// Pure functions over strings: no sockets, no files, no environment. Thread-safe.
// Used by the store (service "s3"), the function's invoke endpoint (service "lambda") and
// the S3 client. Everything follows the SigV4 spec and the S3 specifics in FACTS.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sparkify::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
inline constexpr int64_t kMaxPresignExpires = 604800;  // 7 days
inline constexpr int64_t kMaxClockSkewSeconds = 900;   // 15 minutes, header auth only

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

using Headers = std::vector<std::pair<std::string, std::string>>;  // names as sent

// ---------------------------------------------------------------------------------------------
// The signing chain, each step a pure function (exposed for tests and published vectors).

// "20130524/us-east-1/s3/aws4_request"
std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"), raw.
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);
// Canonical URI of a decoded path. S3 style (s3 == true): encode once, keep '/', no
// normalisation. Other services: remove dot segments and duplicate slashes, then encode
// each segment twice, as the generic SigV4 test suite expects.
std::string CanonicalUri(std::string_view decoded_path, bool s3);
// Canonical query string of a raw (still encoded) query: decode, re-encode each key and
// value with UriEncode, sort by key then value, valueless keys as "key=". `exclude` names a
// parameter left out (X-Amz-Signature for presigned URLs). nullopt on malformed escapes.
std::optional<std::string> CanonicalQuery(std::string_view raw_query,
                                          std::string_view exclude = {});
// Canonical headers block ("name:value\n" per signed header; values trimmed, inner runs of
// spaces folded to one; repeated headers joined by ',') and the signed-headers list.
// nullopt when a signed header is missing from `headers`.
struct CanonicalHeaders {
  std::string block;
  std::string signed_headers;  // "host;x-amz-date"
};
std::optional<CanonicalHeaders> BuildCanonicalHeaders(const Headers& headers,
                                                      const std::vector<std::string>& signed_names);
std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, const CanonicalHeaders& headers,
                             std::string_view payload_hash);
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// Lowercase hex HMAC-SHA256(signing_key, string_to_sign).
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);

// ---------------------------------------------------------------------------------------------
// Signing, for clients.

struct SignRequest {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;           // "bucket.s3.amazonaws.com" or "127.0.0.1:9000" (port kept)
  std::string decoded_path;   // "/bucket/key with spaces" (not yet encoded)
  std::string raw_query;      // already encoded, without '?', may be empty
  Headers headers;            // extra headers to sign (content-type, x-amz-meta-*, ...)
  std::string payload_hash;   // hex SHA-256 of the body, or kUnsignedPayload
  std::string region = "us-east-1";
  std::string service = "s3";
  TimePoint time;
};

// Returns the headers to add to the request: host, x-amz-date, x-amz-content-sha256 (service
// s3 only), x-amz-security-token (when a session token is set) and authorization.
Headers SignHeaders(const SignRequest& request, const Credentials& credentials);

// Returns the full presigned URL "scheme://host/encoded-path?...&X-Amz-Signature=...".
// REQUIRES: 1 <= expires_seconds <= kMaxPresignExpires.
std::string PresignUrl(const SignRequest& request, const Credentials& credentials,
                       int64_t expires_seconds);

// ---------------------------------------------------------------------------------------------
// Verification, for servers.

enum class AuthType { kAnonymous, kHeader, kPresigned };

enum class PayloadMode {
  kSignedHash,              // x-amz-content-sha256 is the hex SHA-256 the body must match
  kUnsigned,                // UNSIGNED-PAYLOAD (always the case for presigned URLs)
  kStreamingSigned,         // aws-chunked, every chunk signed
  kStreamingSignedTrailer,  // aws-chunked, every chunk signed, signed trailer
  kStreamingUnsignedTrailer,  // aws-chunked, no chunk signatures, trailer checksum
  kNone,                    // anonymous request, or a service that does not send the header
};

// Why verification failed; the server maps these to its protocol's error codes.
enum class AuthError {
  kMalformedAuthorization,  // S3: AuthorizationHeaderMalformed (400)
  kMalformedPresign,        // S3: AuthorizationQueryParametersError (400)
  kSigV2NotSupported,       // S3: InvalidRequest (400), "Please use AWS4-HMAC-SHA256."
  kMissingContentSha256,    // S3: InvalidRequest (400)
  kBadContentSha256,        // S3: InvalidArgument (400): not hex-64 nor a known mode
  kWrongRegionOrService,    // S3: AuthorizationHeaderMalformed (400)
  kUnknownAccessKey,        // S3: InvalidAccessKeyId (403)
  kInvalidToken,            // S3: InvalidToken (400): session token missing or wrong
  kSignatureMismatch,       // S3: SignatureDoesNotMatch (403)
  kRequestTimeTooSkewed,    // S3: RequestTimeTooSkewed (403)
  kExpired,                 // S3: AccessDenied (403) "Request has expired"
  kNotYetValid,             // S3: AccessDenied (403) "Request is not valid yet"
};

struct VerifyFailure {
  AuthError error;
  std::string message;  // human-readable; never contains a secret
};

// What the server knows about an access key.
struct KeyInfo {
  std::string secret_access_key;
  std::string session_token;  // non-empty: the request must carry exactly this token
};
// Returns nullopt for an unknown key. Must be thread-safe.
using KeyLookup = std::function<std::optional<KeyInfo>(std::string_view access_key_id)>;

// The request as received.
struct IncomingRequest {
  std::string_view method;
  std::string_view raw_path;   // as on the wire, percent-encoded, no query
  std::string_view raw_query;  // as on the wire, without '?'
  const Headers* headers = nullptr;  // REQUIRES: non-null
};

struct VerifyOptions {
  std::string service = "s3";
  std::string region;  // empty: accept any region in the credential scope
  bool require_content_sha256 = true;  // S3 requires x-amz-content-sha256 on header auth
  const Clock* clock = &Clock::System();
};

struct Verified {
  AuthType type = AuthType::kAnonymous;
  std::string access_key_id;  // empty when anonymous
  PayloadMode payload_mode = PayloadMode::kNone;
  std::string payload_sha256_hex;  // for kSignedHash: the body must hash to this
  TimePoint request_time{};        // X-Amz-Date
  int64_t signature_age_ms = 0;    // now - request_time, for the s3:signatureAge condition
  std::string region;
  // For aws-chunked bodies: the seed signature, the signing key and scope to chain from.
  std::string seed_signature;
  std::string signing_key;
  std::string scope;
  std::string amz_date;
  std::optional<uint64_t> decoded_content_length;  // x-amz-decoded-content-length
  std::vector<std::string> trailer_names;          // x-amz-trailer, lowercased
};

// Verifies header or presigned-query auth. A request with neither comes back as
// AuthType::kAnonymous (the caller decides whether anonymous may do anything).
// The body itself is not read here: the caller checks it against payload_sha256_hex, or
// decodes it with AwsChunkedDecoder.
struct VerifyOutcome {
  std::optional<Verified> verified;
  std::optional<VerifyFailure> failure;
  bool ok() const { return verified.has_value(); }
};
VerifyOutcome Verify(const IncomingRequest& request, const KeyLookup& keys,
                     const VerifyOptions& options);

// Decodes an aws-chunked body incrementally ("hex-size[;chunk-signature=sig]\r\n data \r\n
// ... 0[;chunk-signature=sig]\r\n [trailers \r\n] \r\n"), verifying every chunk signature
// (signed modes, chained from the seed signature) or collecting the trailer (unsigned mode),
// and the trailer signature for kStreamingSignedTrailer. Not thread-safe.
class AwsChunkedDecoder {
 public:
  // REQUIRES: verified.payload_mode is one of the streaming modes.
  // max_chunk_size bounds memory: a declared chunk larger than it is an error.
  explicit AwsChunkedDecoder(const Verified& verified, size_t max_chunk_size = 16 << 20);

  // Consumes `input` (any split) and appends decoded payload bytes to *out.
  // Returns InvalidArgument on malformed framing, PermissionDenied on a bad chunk signature.
  Status Feed(std::string_view input, std::string* out);
  // True once the final chunk and the trailer (if any) have been read.
  bool done() const;
  uint64_t decoded_bytes() const;
  // Trailer headers, names lowercased ("x-amz-checksum-crc32" -> base64 value).
  const Headers& trailers() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace sparkify::sigv4
