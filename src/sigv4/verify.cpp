// Server-side verification: dispatch between header auth, presigned query auth, SigV2 (refused)
// and anonymous requests.
#include <chrono>
#include <exception>

#include "common/uri.h"
#include "sigv4/internal.h"
#include "sigv4/verify_common.h"

namespace sparkify::sigv4 {
namespace {

using internal::Fail;

constexpr std::string_view kSigV2Message =
    "Signature Version 2 is not supported. Please use AWS4-HMAC-SHA256.";

int64_t MillisBetween(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

bool HasParam(const std::vector<QueryParam>& params, std::string_view key) {
  for (const QueryParam& p : params) {
    if (p.key == key) return true;
  }
  return false;
}

std::optional<std::string_view> ParamValue(const std::vector<QueryParam>& params,
                                           std::string_view key) {
  for (const QueryParam& p : params) {
    if (p.key == key) return std::string_view(p.value);
  }
  return std::nullopt;
}

// Fills the aws-chunked fields every verified request carries.
std::optional<VerifyOutcome> FillStreamingFields(const Headers& headers, Verified* v) {
  if (auto text = internal::HeaderValue(headers, "x-amz-decoded-content-length")) {
    auto n = internal::ParseDecimal(TrimSpaceAndTab(*text), 19);
    if (!n) {
      return Fail(AuthError::kMalformedAuthorization,
                  "x-amz-decoded-content-length must be a decimal number");
    }
    v->decoded_content_length = *n;
  }
  if (auto text = internal::HeaderValue(headers, "x-amz-trailer")) {
    std::string_view rest = *text;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view name = TrimSpaceAndTab(rest.substr(0, comma));
      if (!name.empty()) v->trailer_names.push_back(AsciiLowerString(name));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return std::nullopt;
}

struct RequestTime {
  TimePoint time;
  std::string amz_date;
};

// X-Amz-Date, or failing that the Date header.
std::optional<RequestTime> HeaderRequestTime(const Headers& headers, std::string* error) {
  if (auto text = internal::HeaderValue(headers, "x-amz-date")) {
    std::string_view value = TrimSpaceAndTab(*text);
    auto t = internal::ParseAmzDateBounded(value);
    if (!t) {
      *error = "X-Amz-Date must be yyyymmddThhmmssZ";
      return std::nullopt;
    }
    return RequestTime{*t, std::string(value)};
  }
  if (auto text = internal::HeaderValue(headers, "date")) {
    auto t = internal::ParseHttpDateBounded(TrimSpaceAndTab(*text));
    if (!t) {
      *error = "the Date header is not an HTTP date";
      return std::nullopt;
    }
    return RequestTime{*t, FormatAmzDate(*t)};
  }
  *error = "the request needs an X-Amz-Date or Date header";
  return std::nullopt;
}

// Header auth: the request time (X-Amz-Date, else Date) must parse, carry the Credential date and
// lie within kMaxClockSkewSeconds of now. On success fills *when_out and *skew_ms_out.
std::optional<VerifyOutcome> CheckHeaderRequestTime(const Headers& headers,
                                                    const internal::AuthFields& auth,
                                                    const VerifyOptions& options,
                                                    RequestTime* when_out, int64_t* skew_ms_out) {
  std::string time_error;
  std::optional<RequestTime> when = HeaderRequestTime(headers, &time_error);
  if (!when) return Fail(AuthError::kMalformedAuthorization, time_error);
  if (when->amz_date.substr(0, 8) != auth.credential.date) {
    return Fail(AuthError::kMalformedAuthorization,
                "the Credential date does not match the request date");
  }
  TimePoint now = options.clock->Now();
  int64_t skew_ms = MillisBetween(when->time, now);
  if (skew_ms > kMaxClockSkewSeconds * 1000 || skew_ms < -kMaxClockSkewSeconds * 1000) {
    return Fail(AuthError::kRequestTimeTooSkewed,
                "The difference between the request time and the current time is too large.");
  }
  *when_out = std::move(*when);
  *skew_ms_out = skew_ms;
  return std::nullopt;
}

// Header auth: x-amz-content-sha256 must be a hex SHA-256 or a known payload mode; without it
// (when not required) the caller's body hash is used, and a request with neither fails.
// On success fills *payload_out and *payload_hash_out.
std::optional<VerifyOutcome> ClassifyHeaderPayload(const IncomingRequest& request,
                                                   const VerifyOptions& options,
                                                   internal::PayloadClass* payload_out,
                                                   std::string* payload_hash_out) {
  const Headers& headers = *request.headers;
  internal::PayloadClass payload{PayloadMode::kSignedHash, {}};
  std::string payload_hash;
  if (auto text = internal::HeaderValue(headers, "x-amz-content-sha256")) {
    std::string_view value = TrimSpaceAndTab(*text);
    auto cls = internal::ClassifyPayload(value);
    if (!cls) {
      return Fail(AuthError::kBadContentSha256,
                  "x-amz-content-sha256 must be a hex SHA-256 or a known payload mode");
    }
    payload = *cls;
    payload_hash = std::string(value);
  } else if (options.require_content_sha256) {
    return Fail(AuthError::kMissingContentSha256, "Missing required header x-amz-content-sha256");
  } else if (auto cls = internal::ClassifyPayload(request.body_sha256_hex);
             cls && cls->mode == PayloadMode::kSignedHash) {
    payload = *cls;
    payload_hash = cls->sha256_hex;
  } else {
    return Fail(AuthError::kMissingContentSha256,
                "the body hash is needed to verify a request without x-amz-content-sha256");
  }
  *payload_out = std::move(payload);
  *payload_hash_out = std::move(payload_hash);
  return std::nullopt;
}

// Header auth: the query and path must have well-formed percent escapes; then the canonical
// request is signed and compared (internal::CheckSignature: constant time, session token from the
// x-amz-security-token header, else the X-Amz-Security-Token query parameter).
// On success fills *signing_key and *scope.
std::optional<VerifyOutcome> CheckHeaderSignature(
    const IncomingRequest& request, const internal::AuthFields& auth, const std::string& amz_date,
    const std::string& payload_hash, const KeyLookup& keys, const VerifyOptions& options,
    std::string* signing_key, std::string* scope) {
  const Headers& headers = *request.headers;
  std::optional<std::string> canonical_query = CanonicalQuery(request.raw_query);
  if (!canonical_query) {
    return Fail(AuthError::kMalformedAuthorization, "the query has a malformed percent escape");
  }
  std::optional<std::string> canonical_uri =
      internal::CanonicalUriOfRawPath(request.raw_path, options);
  if (!canonical_uri) {
    return Fail(AuthError::kMalformedAuthorization, "the path has a malformed percent escape");
  }

  // `token` may point into `params`, which must outlive the CheckSignature call below.
  std::optional<std::string_view> token = internal::HeaderValue(headers, "x-amz-security-token");
  std::optional<std::vector<QueryParam>> params = ParseQuery(request.raw_query);
  if (!token && params) token = ParamValue(*params, "X-Amz-Security-Token");

  internal::SignatureInput input{request.method,
                                 std::move(*canonical_uri),
                                 std::move(*canonical_query),
                                 &headers,
                                 &auth,
                                 amz_date,
                                 payload_hash};
  return internal::CheckSignature(input, keys, token, signing_key, scope);
}

VerifyOutcome VerifyHeaderAuth(const IncomingRequest& request, std::string_view authorization,
                               const KeyLookup& keys, const VerifyOptions& options) {
  const Headers& headers = *request.headers;
  internal::AuthFields auth;
  if (auto err = internal::ParseAuthorizationHeader(authorization, &auth)) {
    return Fail(AuthError::kMalformedAuthorization, *err);
  }
  if (auto bad = internal::CheckScope(auth.credential, options)) return *bad;
  RequestTime when;
  int64_t skew_ms = 0;
  if (auto bad = CheckHeaderRequestTime(headers, auth, options, &when, &skew_ms)) return *bad;
  internal::PayloadClass payload{};
  std::string payload_hash;
  if (auto bad = ClassifyHeaderPayload(request, options, &payload, &payload_hash)) return *bad;

  Verified v;
  if (auto bad = CheckHeaderSignature(request, auth, when.amz_date, payload_hash, keys, options,
                                      &v.signing_key, &v.scope)) {
    return *bad;
  }
  if (auto bad = FillStreamingFields(headers, &v)) return *bad;
  v.type = AuthType::kHeader;
  v.access_key_id = auth.credential.access_key_id;
  v.payload_mode = payload.mode;
  v.payload_sha256_hex = payload.sha256_hex;
  v.request_time = when.time;
  v.signature_age_ms = skew_ms > 0 ? skew_ms : 0;
  v.region = auth.credential.region;
  v.seed_signature = auth.signature;
  v.amz_date = when.amz_date;
  VerifyOutcome out;
  out.verified = std::move(v);
  return out;
}

// Presigned auth: X-Amz-Date must parse and carry the X-Amz-Credential date, X-Amz-Expires must
// be 1..604800 seconds, and now must lie between X-Amz-Date (less kMaxClockSkewSeconds) and
// X-Amz-Date + X-Amz-Expires. On success fills *time_out and *age_ms_out.
std::optional<VerifyOutcome> CheckPresignTime(const internal::PresignFields& fields,
                                              const VerifyOptions& options, TimePoint* time_out,
                                              int64_t* age_ms_out) {
  std::optional<TimePoint> t = internal::ParseAmzDateBounded(fields.amz_date);
  if (!t) return Fail(AuthError::kMalformedPresign, "X-Amz-Date must be yyyymmddThhmmssZ");
  if (fields.amz_date.substr(0, 8) != fields.auth.credential.date) {
    return Fail(AuthError::kMalformedPresign,
                "the X-Amz-Credential date does not match X-Amz-Date");
  }
  std::optional<uint64_t> expires = internal::ParseDecimal(fields.expires_text, 7);
  if (!expires || *expires < 1 || *expires > static_cast<uint64_t>(kMaxPresignExpires)) {
    return Fail(AuthError::kMalformedPresign,
                "X-Amz-Expires must be a number of seconds from 1 to 604800");
  }
  TimePoint now = options.clock->Now();
  int64_t age_ms = MillisBetween(*t, now);
  if (age_ms < -kMaxClockSkewSeconds * 1000) {
    return Fail(AuthError::kNotYetValid, "Request is not valid yet");
  }
  if (age_ms > static_cast<int64_t>(*expires) * 1000) {
    return Fail(AuthError::kExpired, "Request has expired");
  }
  *time_out = *t;
  *age_ms_out = age_ms;
  return std::nullopt;
}

// Presigned auth: X-Amz-Content-Sha256, when given, must be a hex SHA-256 or UNSIGNED-PAYLOAD;
// without it S3 uses UNSIGNED-PAYLOAD and other services the caller's body hash (else the empty
// hash). On success fills *payload_out and *payload_hash_out.
std::optional<VerifyOutcome> ClassifyPresignPayload(const IncomingRequest& request,
                                                    const internal::PresignFields& fields,
                                                    const VerifyOptions& options,
                                                    internal::PayloadClass* payload_out,
                                                    std::string* payload_hash_out) {
  internal::PayloadClass payload{PayloadMode::kUnsigned, {}};
  std::string payload_hash(kUnsignedPayload);
  if (fields.content_sha256) {
    auto cls = internal::ClassifyPayload(*fields.content_sha256);
    if (!cls || (cls->mode != PayloadMode::kSignedHash && cls->mode != PayloadMode::kUnsigned)) {
      return Fail(AuthError::kBadContentSha256,
                  "X-Amz-Content-Sha256 must be a hex SHA-256 or UNSIGNED-PAYLOAD");
    }
    payload = *cls;
    payload_hash = *fields.content_sha256;
  } else if (options.service != "s3") {
    auto cls = internal::ClassifyPayload(request.body_sha256_hex);
    payload_hash =
        cls && cls->mode == PayloadMode::kSignedHash ? cls->sha256_hex : std::string(kEmptySha256);
    payload = {PayloadMode::kSignedHash, payload_hash};
  }
  *payload_out = std::move(payload);
  *payload_hash_out = std::move(payload_hash);
  return std::nullopt;
}

// Presigned auth: the path and query (less X-Amz-Signature) must have well-formed percent
// escapes; then the canonical request is signed and compared (internal::CheckSignature: constant
// time, session token from X-Amz-Security-Token, else the x-amz-security-token header).
// On success fills *signing_key and *scope.
std::optional<VerifyOutcome> CheckPresignSignature(const IncomingRequest& request,
                                                   const internal::PresignFields& fields,
                                                   const std::string& payload_hash,
                                                   const KeyLookup& keys,
                                                   const VerifyOptions& options,
                                                   std::string* signing_key, std::string* scope) {
  const Headers& headers = *request.headers;
  std::optional<std::string> canonical_query = CanonicalQuery(request.raw_query, "X-Amz-Signature");
  std::optional<std::string> canonical_uri =
      internal::CanonicalUriOfRawPath(request.raw_path, options);
  if (!canonical_query || !canonical_uri) {
    return Fail(AuthError::kMalformedPresign, "the path or query has a malformed percent escape");
  }
  std::optional<std::string_view> token;
  if (fields.security_token) {
    token = *fields.security_token;
  } else {
    token = internal::HeaderValue(headers, "x-amz-security-token");
  }

  internal::SignatureInput input{request.method,
                                 std::move(*canonical_uri),
                                 std::move(*canonical_query),
                                 &headers,
                                 &fields.auth,
                                 fields.amz_date,
                                 payload_hash};
  return internal::CheckSignature(input, keys, token, signing_key, scope);
}

VerifyOutcome VerifyPresigned(const IncomingRequest& request, const std::vector<QueryParam>& params,
                              const KeyLookup& keys, const VerifyOptions& options) {
  internal::PresignFields fields;
  if (auto err = internal::ParsePresignParams(params, &fields)) {
    return Fail(AuthError::kMalformedPresign, *err);
  }
  if (auto bad = internal::CheckScope(fields.auth.credential, options)) return *bad;
  TimePoint t;
  int64_t age_ms = 0;
  if (auto bad = CheckPresignTime(fields, options, &t, &age_ms)) return *bad;
  internal::PayloadClass payload{};
  std::string payload_hash;
  if (auto bad = ClassifyPresignPayload(request, fields, options, &payload, &payload_hash)) {
    return *bad;
  }

  Verified v;
  if (auto bad = CheckPresignSignature(request, fields, payload_hash, keys, options, &v.signing_key,
                                       &v.scope)) {
    return *bad;
  }
  v.type = AuthType::kPresigned;
  v.access_key_id = fields.auth.credential.access_key_id;
  v.payload_mode = payload.mode;
  v.payload_sha256_hex = payload.sha256_hex;
  v.request_time = t;
  v.signature_age_ms = age_ms > 0 ? age_ms : 0;
  v.region = fields.auth.credential.region;
  v.seed_signature = fields.auth.signature;
  v.amz_date = fields.amz_date;
  VerifyOutcome out;
  out.verified = std::move(v);
  return out;
}

VerifyOutcome Anonymous(const Headers& headers) {
  Verified v;
  v.type = AuthType::kAnonymous;
  if (auto text = internal::HeaderValue(headers, "x-amz-content-sha256")) {
    auto cls = internal::ClassifyPayload(TrimSpaceAndTab(*text));
    if (!cls) {
      return Fail(AuthError::kBadContentSha256,
                  "x-amz-content-sha256 must be a hex SHA-256 or a known payload mode");
    }
    if (cls->mode == PayloadMode::kStreamingSigned ||
        cls->mode == PayloadMode::kStreamingSignedTrailer) {
      return Fail(AuthError::kBadContentSha256,
                  "a signed streaming payload needs a signed request");
    }
    v.payload_mode = cls->mode;
    v.payload_sha256_hex = cls->sha256_hex;
  }
  if (auto bad = FillStreamingFields(headers, &v)) return *bad;
  VerifyOutcome out;
  out.verified = std::move(v);
  return out;
}

VerifyOutcome VerifyOrThrow(const IncomingRequest& request, const KeyLookup& keys,
                            const VerifyOptions& options) {
  static const Headers kNoHeaders;
  IncomingRequest req = request;
  if (req.headers == nullptr) req.headers = &kNoHeaders;
  VerifyOptions opts = options;
  if (opts.clock == nullptr) opts.clock = &Clock::System();

  std::optional<std::vector<QueryParam>> params = ParseQuery(req.raw_query);
  bool presign =
      params && (HasParam(*params, "X-Amz-Algorithm") || HasParam(*params, "X-Amz-Credential") ||
                 HasParam(*params, "X-Amz-Signature"));
  std::optional<std::string_view> authorization =
      internal::HeaderValue(*req.headers, "authorization");
  if (authorization) {
    std::string_view value = TrimSpaceAndTab(*authorization);
    if (value.substr(0, 4) == "AWS " || value == "AWS") {
      return Fail(AuthError::kSigV2NotSupported, std::string(kSigV2Message));
    }
    if (presign) {
      return Fail(AuthError::kMalformedAuthorization,
                  "Only one auth mechanism allowed: the Authorization header or X-Amz-* query "
                  "parameters");
    }
    return VerifyHeaderAuth(req, value, keys, opts);
  }
  if (!params) {
    return Fail(AuthError::kMalformedPresign, "the query has a malformed percent escape");
  }
  if (presign) return VerifyPresigned(req, *params, keys, opts);
  if (HasParam(*params, "AWSAccessKeyId") || HasParam(*params, "Signature")) {
    return Fail(AuthError::kSigV2NotSupported, std::string(kSigV2Message));
  }
  return Anonymous(*req.headers);
}

}  // namespace

std::string_view AuthErrorName(AuthError error) {
  switch (error) {
    case AuthError::kMalformedAuthorization:
      return "MalformedAuthorization";
    case AuthError::kMalformedPresign:
      return "MalformedPresign";
    case AuthError::kSigV2NotSupported:
      return "SigV2NotSupported";
    case AuthError::kMissingContentSha256:
      return "MissingContentSha256";
    case AuthError::kBadContentSha256:
      return "BadContentSha256";
    case AuthError::kWrongRegionOrService:
      return "WrongRegionOrService";
    case AuthError::kUnknownAccessKey:
      return "UnknownAccessKey";
    case AuthError::kInvalidToken:
      return "InvalidToken";
    case AuthError::kSignatureMismatch:
      return "SignatureMismatch";
    case AuthError::kRequestTimeTooSkewed:
      return "RequestTimeTooSkewed";
    case AuthError::kExpired:
      return "Expired";
    case AuthError::kNotYetValid:
      return "NotYetValid";
  }
  return "Unknown";
}

VerifyOutcome Verify(const IncomingRequest& request, const KeyLookup& keys,
                     const VerifyOptions& options) {
  try {
    return VerifyOrThrow(request, keys, options);
  } catch (const std::exception&) {
    // Only OpenSSL failures or allocation failures get here.
    return Fail(AuthError::kSignatureMismatch, "the signature could not be computed");
  }
}

}  // namespace sparkify::sigv4
