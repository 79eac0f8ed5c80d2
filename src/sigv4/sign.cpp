// Client-side signing: Authorization headers and presigned URLs.
#include <algorithm>
#include <exception>

#include "common/uri.h"
#include "sigv4/internal.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4 {
namespace {

bool IsManagedHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "host") || EqualsIgnoreCase(name, "x-amz-date") ||
         EqualsIgnoreCase(name, "x-amz-content-sha256") ||
         EqualsIgnoreCase(name, "x-amz-security-token") || EqualsIgnoreCase(name, "authorization");
}

struct Prepared {
  std::string amz_date;
  std::string scope;
  std::string signing_key;
  Headers to_sign;                 // managed headers first, then the caller's
  std::vector<std::string> names;  // lowercased names of to_sign
};

Prepared Prepare(const SignRequest& request, const Credentials& credentials) {
  Prepared p;
  p.amz_date = FormatAmzDate(request.time);
  std::string date = p.amz_date.substr(0, 8);  // "20130524T000000Z" -> "20130524"
  p.scope = CredentialScope(date, request.region, request.service);
  p.signing_key = SigningKey(credentials.secret_access_key, date, request.region, request.service);
  return p;
}

void AddHeader(Prepared* p, std::string name, std::string value) {
  p->names.push_back(AsciiLowerString(name));
  p->to_sign.emplace_back(std::move(name), std::move(value));
}

void AddCallerHeaders(const SignRequest& request, Prepared* p) {
  for (const auto& [name, value] : request.headers) {
    if (!IsManagedHeader(name)) AddHeader(p, name, value);
  }
}

// The decoded path with its leading '/', whatever the caller passed.
std::string RootedPath(const SignRequest& request) {
  if (!request.decoded_path.empty() && request.decoded_path.front() == '/') {
    return request.decoded_path;
  }
  return "/" + request.decoded_path;
}

std::string CanonicalUriFor(const SignRequest& request) {
  return CanonicalUri(RootedPath(request), request.service == "s3");
}

Headers SignHeadersOrThrow(const SignRequest& request, const Credentials& credentials) {
  Prepared p = Prepare(request, credentials);
  std::string payload_hash =
      request.payload_hash.empty() ? std::string(kEmptySha256) : request.payload_hash;
  AddHeader(&p, "host", request.host);
  AddHeader(&p, "x-amz-date", p.amz_date);
  if (request.service == "s3") AddHeader(&p, "x-amz-content-sha256", payload_hash);
  if (!credentials.session_token.empty()) {
    AddHeader(&p, "x-amz-security-token", credentials.session_token);
  }
  Headers managed = p.to_sign;
  AddCallerHeaders(request, &p);

  std::optional<CanonicalHeaders> canonical_headers = BuildCanonicalHeaders(p.to_sign, p.names);
  std::optional<std::string> query = CanonicalQuery(request.raw_query);
  if (!canonical_headers || !query) return {};
  std::string creq = CanonicalRequest(request.method, CanonicalUriFor(request), *query,
                                      *canonical_headers, payload_hash);
  std::string signature = Signature(p.signing_key, StringToSign(p.amz_date, p.scope, creq));

  std::string authorization(kAlgorithm);
  authorization += " Credential=" + credentials.access_key_id + "/" + p.scope;
  authorization += ", SignedHeaders=" + canonical_headers->signed_headers;
  authorization += ", Signature=" + signature;
  managed.emplace_back("authorization", std::move(authorization));
  return managed;
}

std::string PresignUrlOrThrow(const SignRequest& request, const Credentials& credentials,
                              int64_t expires_seconds) {
  expires_seconds = std::clamp<int64_t>(expires_seconds, 1, kMaxPresignExpires);
  Prepared p = Prepare(request, credentials);
  std::optional<CanonicalHeaders> canonical_headers;
  if (request.headers.empty() &&
      request.host.find_first_of(" \t") == std::string::npos) {
    // The common case, host alone, needs no sorting or folding.
    canonical_headers = CanonicalHeaders{"host:" + request.host + "\n", "host"};
  } else {
    AddHeader(&p, "host", request.host);
    AddCallerHeaders(request, &p);
    canonical_headers = BuildCanonicalHeaders(p.to_sign, p.names);
  }
  if (!canonical_headers) return {};

  std::string query = request.raw_query;
  query.reserve(query.size() + 512);
  auto add = [&query](std::string_view key, std::string_view value) {
    if (!query.empty()) query.push_back('&');
    UriEncodeAppend(key, false, &query);
    query.push_back('=');
    UriEncodeAppend(value, false, &query);
  };
  // Added in canonical (sorted) order, so that without a caller query the string is already
  // canonical: each value is encoded exactly as CanonicalQuery would re-encode it.
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", credentials.access_key_id + "/" + p.scope);
  add("X-Amz-Date", p.amz_date);
  add("X-Amz-Expires", std::to_string(expires_seconds));
  if (!credentials.session_token.empty()) add("X-Amz-Security-Token", credentials.session_token);
  add("X-Amz-SignedHeaders", canonical_headers->signed_headers);
  std::optional<std::string> canonical_query =
      request.raw_query.empty() ? std::optional<std::string>(std::move(query))
                                : CanonicalQuery(query);
  if (!canonical_query) return {};

  // S3 presigned URLs never sign the body; other services sign its hash (botocore does the same).
  std::string payload_hash = request.service == "s3"        ? std::string(kUnsignedPayload)
                             : request.payload_hash.empty() ? std::string(kEmptySha256)
                                                            : request.payload_hash;
  std::string canonical_uri = CanonicalUriFor(request);
  std::string creq = CanonicalRequest(request.method, canonical_uri, *canonical_query,
                                      *canonical_headers, payload_hash);
  std::string signature = Signature(p.signing_key, StringToSign(p.amz_date, p.scope, creq));

  // For S3 the canonical URI is the path as sent; other services normalise it for signing only.
  std::string wire_path =
      request.service == "s3" ? std::move(canonical_uri) : EncodePath(RootedPath(request));
  std::string url;
  url.reserve(request.scheme.size() + request.host.size() + wire_path.size() +
              canonical_query->size() + 100);
  url.append(request.scheme).append("://").append(request.host).append(wire_path);
  url.append("?").append(*canonical_query).append("&X-Amz-Signature=").append(signature);
  return url;
}

}  // namespace

Headers SignHeaders(const SignRequest& request, const Credentials& credentials) {
  try {
    return SignHeadersOrThrow(request, credentials);
  } catch (const std::exception&) {
    return {};
  }
}

std::string PresignUrl(const SignRequest& request, const Credentials& credentials,
                       int64_t expires_seconds) {
  try {
    return PresignUrlOrThrow(request, credentials, expires_seconds);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace sparkify::sigv4
