// AWS Signature Version 4: signing (clients, presigned URLs) and verification (servers).
//
// Pure functions over strings: no sockets, no files, no environment. Thread-safe.
// Used by the store (service "s3"), the function's invoke endpoint (service "lambda") and
// the S3 client. Everything follows the SigV4 spec and the S3 specifics in docs/sigv4.md.
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

// The hex SHA-256 of an empty body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The path to put on the wire for a decoded S3 path: UriEncode keeping '/', no normalisation.
std::string EncodePath(std::string_view decoded_path);

// aws-chunked signatures (S3 "Transferring Payload in Multiple Chunks"): chunk n is signed over
// "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" previous "\n" hash("") "\n" hash(chunk),
// starting from the seed (request) signature; the trailer over "AWS4-HMAC-SHA256-TRAILER\n"
// date "\n" scope "\n" previous "\n" hash(canonical_trailers), where canonical_trailers is
// "name:value\n" per trailer, in order, and previous is the final (empty) chunk's signature.
std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view scope, std::string_view previous_signature,
                           std::string_view chunk_data);
std::string TrailerSignature(std::string_view signing_key, std::string_view amz_date,
                             std::string_view scope, std::string_view previous_signature,
                             std::string_view canonical_trailers);

// ---------------------------------------------------------------------------------------------
// Signing, for clients.

struct SignRequest {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;          // "bucket.s3.amazonaws.com" or "127.0.0.1:9000" (port kept)
  std::string decoded_path;  // "/bucket/key with spaces" (not yet encoded)
  std::string raw_query;     // already encoded, without '?', may be empty
  Headers headers;           // extra headers to sign (content-type, x-amz-meta-*, ...)
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
  std::string region = "us-east-1";
  std::string service = "s3";
  TimePoint time;
};

// Returns the headers to add to the request: host, x-amz-date, x-amz-content-sha256 (service
// s3 only), x-amz-security-token (when a session token is set) and authorization.
// Every header in request.headers is signed (send them unchanged); entries named host,
// x-amz-date, x-amz-content-sha256, x-amz-security-token or authorization are ignored, since
// this function sets those. An empty payload_hash means the empty body (kEmptySha256).
// `host` must be what the client puts in the Host header (leave out a default port, as SDKs do).
// Returns an empty vector only if OpenSSL fails.
Headers SignHeaders(const SignRequest& request, const Credentials& credentials);

// Returns the full presigned URL "scheme://host/encoded-path?...&X-Amz-Signature=...":
// the query is the canonical query (raw_query plus the X-Amz-* parameters, sorted) followed by
// X-Amz-Signature. Signs host plus every header in request.headers (the caller of the URL must
// send those). For S3 the payload is kUnsignedPayload; other services sign payload_hash (or
// kEmptySha256 when it is empty).
// REQUIRES: 1 <= expires_seconds <= kMaxPresignExpires (values outside are clamped).
// Returns an empty string only if OpenSSL fails.
std::string PresignUrl(const SignRequest& request, const Credentials& credentials,
                       int64_t expires_seconds);

// ---------------------------------------------------------------------------------------------
// Verification, for servers.

// kPostPolicy: an S3 POST Object form signed over its policy document.
enum class AuthType { kAnonymous, kHeader, kPresigned, kPostPolicy };

// The enumerators share their names with the kStreaming* strings above (a scoped enum, so no
// ambiguity); GCC's -Wshadow still flags them, hence the local suppression.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
enum class PayloadMode {
  kSignedHash,                // x-amz-content-sha256 is the hex SHA-256 the body must match
  kUnsigned,                  // UNSIGNED-PAYLOAD (always the case for presigned URLs)
  kStreamingSigned,           // aws-chunked, every chunk signed
  kStreamingSignedTrailer,    // aws-chunked, every chunk signed, signed trailer
  kStreamingUnsignedTrailer,  // aws-chunked, no chunk signatures, trailer checksum
  kNone,                      // anonymous request, or a service that does not send the header
};
#pragma GCC diagnostic pop

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
  // For kSignatureMismatch only, as S3 returns them to help clients debug (neither is secret).
  std::string canonical_request;
  std::string string_to_sign;
};

// "SignatureMismatch" style name of an AuthError, for logs and tests.
std::string_view AuthErrorName(AuthError error);

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
  std::string_view raw_path;         // as on the wire, percent-encoded, no query
  std::string_view raw_query;        // as on the wire, without '?'
  const Headers* headers = nullptr;  // REQUIRES: non-null
  // Hex SHA-256 of the body, for services whose clients do not send x-amz-content-sha256
  // (Lambda): the canonical request then needs the body hash, so the caller reads the body
  // first. Ignored when the header is present (S3).
  std::string_view body_sha256_hex;
};

struct VerifyOptions {
  std::string service = "s3";
  std::string region;                  // empty: accept any region in the credential scope
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
// Rules beyond the signature: every x-amz-* request header but x-amz-content-sha256 must be
// signed; header auth needs X-Amz-Date (or Date) within kMaxClockSkewSeconds of now; a
// presigned URL is valid from X-Amz-Date (less the same skew allowance) to X-Amz-Date +
// X-Amz-Expires; a key whose KeyInfo has a session token needs exactly that token (header or
// X-Amz-Security-Token query parameter), a key without one must not carry any. Never throws.
struct VerifyOutcome {
  std::optional<Verified> verified;
  std::optional<VerifyFailure> failure;
  bool ok() const { return verified.has_value(); }
};
VerifyOutcome Verify(const IncomingRequest& request, const KeyLookup& keys,
                     const VerifyOptions& options);

// The fields of an S3 POST Object form that sign it (docs/sigv4.md, "POST policies").
struct PostAuthFields {
  std::string algorithm;       // x-amz-algorithm
  std::string credential;      // x-amz-credential
  std::string amz_date;        // x-amz-date
  std::string signature;       // x-amz-signature
  std::string security_token;  // x-amz-security-token, if any
  std::string policy_base64;   // policy, as sent
};

// Verifies a POST form's signature: hex HMAC-SHA256 of the base64 policy under the signing
// key of the credential's scope (service and region checked as for other requests), and the
// session token as for other requests. The policy's own expiration and conditions are the
// caller's to check. Errors as Verify's; a malformed field is kMalformedPresign.
VerifyOutcome VerifyPostPolicySignature(const PostAuthFields& fields, const KeyLookup& keys,
                                        const VerifyOptions& options);

// Decodes an aws-chunked body incrementally ("hex-size[;chunk-signature=sig]\r\n data \r\n
// ... 0[;chunk-signature=sig]\r\n [trailers \r\n] \r\n"), verifying every chunk signature
// (signed modes, chained from the seed signature) or collecting the trailer (unsigned mode),
// and the trailer signature for kStreamingSignedTrailer. Not thread-safe.
// Signed chunks are held back until their signature checks, so memory stays below
// max_chunk_size plus a few KiB of line buffer. Trailers must be declared in x-amz-trailer
// (when it was sent) and all declared ones must arrive; x-amz-decoded-content-length, when
// sent, must equal the decoded size. Once Feed fails, every later call returns the same error.
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
