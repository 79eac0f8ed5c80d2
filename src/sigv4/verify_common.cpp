#include "sigv4/verify_common.h"

#include "common/crypto.h"
#include "common/uri.h"

namespace sparkify::sigv4::internal {
namespace {

// x-amz-* headers a request may carry unsigned: the payload hash is bound by the canonical
// request anyway.
bool MayBeUnsigned(std::string_view lower_name) { return lower_name == "x-amz-content-sha256"; }

std::optional<std::string> FirstUnsignedAmzHeader(const Headers& headers,
                                                  const std::vector<std::string>& signed_names) {
  for (const auto& [name, value] : headers) {
    std::string lower = AsciiLowerString(name);
    if (lower.rfind("x-amz-", 0) != 0 || MayBeUnsigned(lower)) continue;
    bool found = false;
    for (const std::string& s : signed_names) found = found || s == lower;
    if (!found) return lower;
  }
  return std::nullopt;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

// Client-supplied text quoted in a message: short printable ASCII only, so messages stay safe to
// log and to put in an error document.
std::string Quoted(std::string_view s) {
  bool printable = s.size() <= 64;
  for (char c : s) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) return "(unprintable)";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

}  // namespace

VerifyOutcome Fail(AuthError error, std::string message) {
  VerifyOutcome out;
  out.failure = VerifyFailure{error, std::move(message), {}, {}};
  return out;
}

std::optional<VerifyOutcome> CheckScope(const CredentialParts& credential,
                                        const VerifyOptions& options) {
  if (credential.service != options.service) {
    return Fail(AuthError::kWrongRegionOrService, "the credential scope names service " +
                                                      Quoted(credential.service) + ", expected '" +
                                                      options.service + "'");
  }
  if (!options.region.empty() && credential.region != options.region) {
    return Fail(AuthError::kWrongRegionOrService, "the credential scope names region " +
                                                      Quoted(credential.region) + ", expected '" +
                                                      options.region + "'");
  }
  return std::nullopt;
}

std::optional<PayloadClass> ClassifyPayload(std::string_view value) {
  if (value == kUnsignedPayload) return PayloadClass{PayloadMode::kUnsigned, {}};
  if (value == kStreamingSigned) return PayloadClass{PayloadMode::kStreamingSigned, {}};
  if (value == kStreamingSignedTrailer) {
    return PayloadClass{PayloadMode::kStreamingSignedTrailer, {}};
  }
  if (value == kStreamingUnsignedTrailer) {
    return PayloadClass{PayloadMode::kStreamingUnsignedTrailer, {}};
  }
  if (IsHex64(value)) return PayloadClass{PayloadMode::kSignedHash, AsciiLowerString(value)};
  return std::nullopt;
}

std::optional<std::string> CanonicalUriOfRawPath(std::string_view raw_path,
                                                 const VerifyOptions& options) {
  std::optional<std::string> decoded = UriDecode(raw_path);
  if (!decoded) return std::nullopt;
  if (decoded->empty() || decoded->front() != '/') decoded->insert(decoded->begin(), '/');
  return CanonicalUri(*decoded, options.service == "s3");
}

std::optional<VerifyOutcome> CheckSignature(const SignatureInput& input, const KeyLookup& keys,
                                            const std::optional<std::string_view>& token,
                                            std::string* signing_key, std::string* scope) {
  const AuthFields& auth = *input.auth;
  bool host_signed = false;
  for (const std::string& name : auth.signed_headers) host_signed = host_signed || name == "host";
  if (!host_signed) {
    return Fail(AuthError::kSignatureMismatch, "the host header must be signed");
  }
  std::optional<CanonicalHeaders> canonical_headers =
      BuildCanonicalHeaders(*input.headers, auth.signed_headers);
  if (!canonical_headers) {
    return Fail(AuthError::kSignatureMismatch,
                "a header listed in SignedHeaders is missing from the request");
  }

  std::optional<KeyInfo> key = keys ? keys(auth.credential.access_key_id) : std::nullopt;
  if (!key) {
    return Fail(AuthError::kUnknownAccessKey,
                "The AWS access key Id you provided does not exist in our records.");
  }

  *scope = CredentialScope(auth.credential.date, auth.credential.region, auth.credential.service);
  *signing_key = SigningKey(key->secret_access_key, auth.credential.date, auth.credential.region,
                            auth.credential.service);
  std::string creq = CanonicalRequest(input.method, input.canonical_uri, input.canonical_query,
                                      *canonical_headers, input.payload_hash);
  std::string sts = StringToSign(input.amz_date, *scope, creq);
  std::string expected = Signature(*signing_key, sts);
  if (!ConstantTimeEquals(expected, auth.signature)) {
    VerifyOutcome out = Fail(AuthError::kSignatureMismatch,
                             "The request signature we calculated does not match the signature "
                             "you provided. Check your key and signing method.");
    out.failure->canonical_request = std::move(creq);
    out.failure->string_to_sign = std::move(sts);
    return out;
  }

  if (!key->session_token.empty()) {
    if (!token) {
      return Fail(AuthError::kInvalidToken,
                  "temporary credentials need X-Amz-Security-Token with the session token");
    }
    if (!ConstantTimeEquals(*token, key->session_token)) {
      return Fail(AuthError::kInvalidToken,
                  "The provided token is malformed or otherwise invalid.");
    }
  } else if (token) {
    return Fail(AuthError::kInvalidToken,
                "X-Amz-Security-Token was sent with a key that has no session token");
  }

  if (auto unsigned_name = FirstUnsignedAmzHeader(*input.headers, auth.signed_headers)) {
    return Fail(
        AuthError::kSignatureMismatch,
        "There were headers present in the request which were not signed: " + *unsigned_name);
  }
  return std::nullopt;
}

}  // namespace sparkify::sigv4::internal
