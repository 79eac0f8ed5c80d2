// Private: the steps header auth and presigned auth share (scope and time checks, payload
// classification, signature and token comparison). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4/internal.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4::internal {

VerifyOutcome Fail(AuthError error, std::string message);

// Checks the credential scope's service and region against the options.
std::optional<VerifyOutcome> CheckScope(const CredentialParts& credential,
                                        const VerifyOptions& options);

// Interprets an x-amz-content-sha256 value; nullopt when it is neither hex-64 nor a known mode.
struct PayloadClass {
  PayloadMode mode;
  std::string sha256_hex;  // kSignedHash only, lowercased
};
std::optional<PayloadClass> ClassifyPayload(std::string_view value);

// Everything needed to compute the expected signature.
struct SignatureInput {
  std::string_view method;
  std::string canonical_uri;
  std::string canonical_query;
  const Headers* headers = nullptr;
  const AuthFields* auth = nullptr;
  std::string amz_date;
  std::string payload_hash;
};

// Looks the key up, recomputes the signature and compares it in constant time; checks the
// session token (`token` is what the request carried, if anything) and that every x-amz-*
// header was signed. On success fills *signing_key and *scope and returns nullopt.
std::optional<VerifyOutcome> CheckSignature(const SignatureInput& input, const KeyLookup& keys,
                                            const std::optional<std::string_view>& token,
                                            std::string* signing_key, std::string* scope);

// The decoded S3 (or generic) canonical URI of a raw path; nullopt on a malformed escape.
std::optional<std::string> CanonicalUriOfRawPath(std::string_view raw_path,
                                                 const VerifyOptions& options);

}  // namespace sparkify::sigv4::internal
