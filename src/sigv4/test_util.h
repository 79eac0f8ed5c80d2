// Helpers shared by the SigV4 tests: the documentation's example credentials, a key table, and
// an owning request type to feed Verify. Test-only; not thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4::testing {

// From the S3 documentation's signing examples.
inline constexpr std::string_view kDocAccessKey = "AKIAIOSFODNN7EXAMPLE";
inline constexpr std::string_view kDocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

// 2013-05-24T00:00:00Z, the documentation examples' time.
inline TimePoint DocTime() { return *ParseAmzDate("20130524T000000Z"); }

inline Credentials DocCredentials() {
  return Credentials{std::string(kDocAccessKey), std::string(kDocSecret), ""};
}

// A KeyLookup over a fixed table.
inline KeyLookup KeysFrom(std::map<std::string, KeyInfo> table) {
  return [table = std::move(table)](std::string_view id) -> std::optional<KeyInfo> {
    auto it = table.find(std::string(id));
    if (it == table.end()) return std::nullopt;
    return it->second;
  };
}

// An owning version of IncomingRequest.
struct OwnedRequest {
  std::string method = "GET";
  std::string raw_path = "/";
  std::string raw_query;
  Headers headers;
  std::string body_sha256_hex;

  IncomingRequest View() const {
    IncomingRequest r;
    r.method = method;
    r.raw_path = raw_path;
    r.raw_query = raw_query;
    r.headers = &headers;
    r.body_sha256_hex = body_sha256_hex;
    return r;
  }
};

// Splits "https://host/path?query" into an OwnedRequest (with a Host header).
inline OwnedRequest FromUrl(std::string_view method, std::string_view url) {
  OwnedRequest r;
  r.method = std::string(method);
  size_t scheme_end = url.find("://");
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  size_t q = target.find('?');
  r.raw_path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.raw_query = std::string(target.substr(q + 1));
  r.headers.emplace_back("Host", std::string(host));
  return r;
}

// The request a client sends after SignHeaders: the caller's headers plus the signed ones.
inline OwnedRequest SendSigned(const SignRequest& sr, const Credentials& creds) {
  OwnedRequest r;
  r.method = sr.method;
  r.raw_path = EncodePath(sr.decoded_path);
  r.raw_query = sr.raw_query;
  r.headers = sr.headers;
  for (auto& h : SignHeaders(sr, creds)) r.headers.push_back(h);
  return r;
}

// The request a client sends for a presigned URL.
inline OwnedRequest SendPresigned(const SignRequest& sr, const Credentials& creds,
                                  int64_t expires) {
  OwnedRequest r = FromUrl(sr.method, PresignUrl(sr, creds, expires));
  for (const auto& h : sr.headers) r.headers.push_back(h);
  return r;
}

inline void SetHeader(Headers* headers, std::string_view name, std::string_view value) {
  for (auto& [k, v] : *headers) {
    if (k == name) {
      v = std::string(value);
      return;
    }
  }
  headers->emplace_back(std::string(name), std::string(value));
}

inline std::string SignatureOf(const std::string& authorization) {
  size_t at = authorization.find("Signature=");
  return at == std::string::npos ? std::string() : authorization.substr(at + 10);
}

inline std::string HeaderOf(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace sparkify::sigv4::testing
