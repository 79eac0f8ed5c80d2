// The SigV4 signing chain: canonical request -> string to sign -> signing key -> signature.
#include <algorithm>

#include "common/crypto.h"
#include "common/uri.h"
#include "sigv4/internal.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4 {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Trim(value) and fold every inner run of whitespace to one space (botocore: ' '.join(split())).
std::string TrimAll(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 remove_dot_segments plus the removal of empty segments, as the generic SigV4 test
// suite (and botocore for non-S3 services) expect.
std::vector<std::string_view> NormalisedSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    start = slash + 1;
  }
  return out;
}

}  // namespace

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out;
  out.reserve(date.size() + region.size() + service.size() + 16);
  out.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  // The key changes once a day per secret, region and service, but a server verifies (and a
  // presigner signs) many requests with the same one: remember the last key per thread.
  // The cache lives in this thread's memory only, beside the secret the caller already holds.
  struct Last {
    std::string secret, date, region, service, key;
  };
  thread_local Last last;
  if (!last.key.empty() && last.date == date && last.region == region &&
      last.service == service && ConstantTimeEquals(last.secret, secret)) {
    return last.key;
  }
  std::string k_secret = "AWS4";
  k_secret.append(secret);
  std::string k_date = HmacSha256(k_secret, date);
  std::string k_region = HmacSha256(k_date, region);
  std::string k_service = HmacSha256(k_region, service);
  std::string key = HmacSha256(k_service, "aws4_request");
  last = {std::string(secret), std::string(date), std::string(region), std::string(service), key};
  return key;
}

std::string EncodePath(std::string_view decoded_path) { return UriEncode(decoded_path, true); }

std::string CanonicalUri(std::string_view decoded_path, bool s3) {
  if (s3) {
    if (decoded_path.empty()) return "/";
    return EncodePath(decoded_path);
  }
  std::vector<std::string_view> segments = NormalisedSegments(decoded_path);
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += UriEncode(UriEncode(segments[i]));
  }
  if (!segments.empty() && !decoded_path.empty() && decoded_path.back() == '/') out.push_back('/');
  return out;
}

std::optional<std::string> CanonicalQuery(std::string_view raw_query, std::string_view exclude) {
  std::optional<std::vector<QueryParam>> params = ParseQuery(raw_query);
  if (!params) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params->size());
  for (const QueryParam& p : *params) {
    if (!exclude.empty() && p.key == exclude) continue;
    encoded.emplace_back(UriEncode(p.key), UriEncode(p.value));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += key;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::optional<CanonicalHeaders> BuildCanonicalHeaders(
    const Headers& headers, const std::vector<std::string>& signed_names) {
  std::vector<std::string> names;
  names.reserve(signed_names.size());
  for (const std::string& n : signed_names) names.push_back(AsciiLowerString(n));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  CanonicalHeaders out;
  for (const std::string& name : names) {
    std::vector<std::string_view> values = internal::HeaderValues(headers, name);
    if (values.empty()) return std::nullopt;
    out.block += name;
    out.block.push_back(':');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out.block.push_back(',');
      out.block += TrimAll(values[i]);
    }
    out.block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  return out;
}

std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, const CanonicalHeaders& headers,
                             std::string_view payload_hash) {
  std::string out;
  out.reserve(method.size() + canonical_uri.size() + canonical_query.size() + headers.block.size() +
              headers.signed_headers.size() + payload_hash.size() + 8);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(headers.block).append("\n");
  out.append(headers.signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out += Sha256Hex(canonical_request);
  return out;
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view scope, std::string_view previous_signature,
                           std::string_view chunk_data) {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n";
  sts.append(amz_date).append("\n").append(scope).append("\n");
  sts.append(previous_signature).append("\n").append(kEmptySha256).append("\n");
  sts += Sha256Hex(chunk_data);
  return Signature(signing_key, sts);
}

std::string TrailerSignature(std::string_view signing_key, std::string_view amz_date,
                             std::string_view scope, std::string_view previous_signature,
                             std::string_view canonical_trailers) {
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n";
  sts.append(amz_date).append("\n").append(scope).append("\n");
  sts.append(previous_signature).append("\n");
  sts += Sha256Hex(canonical_trailers);
  return Signature(signing_key, sts);
}

}  // namespace sparkify::sigv4
