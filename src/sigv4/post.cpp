// SigV4 for browser-based uploads (S3 POST Object): the signature is over the base64 policy
// document itself (docs/sigv4.md, "POST policies").
#include "common/crypto.h"
#include "sigv4/internal.h"
#include "sigv4/sigv4.h"
#include "sigv4/verify_common.h"

namespace sparkify::sigv4 {

VerifyOutcome VerifyPostPolicySignature(const PostAuthFields& fields, const KeyLookup& keys,
                                        const VerifyOptions& options) {
  using internal::Fail;
  if (fields.algorithm != "AWS4-HMAC-SHA256") {
    return Fail(AuthError::kMalformedPresign,
                "x-amz-algorithm must be AWS4-HMAC-SHA256 (SigV2 POST policies are not served)");
  }
  internal::CredentialParts credential;
  if (auto why = internal::ParseCredential(fields.credential, &credential)) {
    return Fail(AuthError::kMalformedPresign, "x-amz-credential: " + *why);
  }
  if (auto failed = internal::CheckScope(credential, options)) return *failed;
  std::optional<TimePoint> time = internal::ParseAmzDateBounded(fields.amz_date);
  if (!time || fields.amz_date.substr(0, 8) != credential.date) {
    return Fail(AuthError::kMalformedPresign,
                "x-amz-date must be YYYYMMDD'T'HHMMSS'Z' on the credential scope's date");
  }
  if (fields.signature.size() != 64) {
    return Fail(AuthError::kMalformedPresign, "x-amz-signature must be 64 hex digits");
  }
  std::optional<KeyInfo> key = keys ? keys(credential.access_key_id) : std::nullopt;
  if (!key) {
    return Fail(AuthError::kUnknownAccessKey,
                "The AWS access key Id you provided does not exist in our records.");
  }
  std::string signing_key =
      SigningKey(key->secret_access_key, credential.date, credential.region, credential.service);
  if (!ConstantTimeEquals(Signature(signing_key, fields.policy_base64), fields.signature)) {
    return Fail(AuthError::kSignatureMismatch,
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.");
  }
  if (!key->session_token.empty() || !fields.security_token.empty()) {
    if (!ConstantTimeEquals(fields.security_token, key->session_token)) {
      return Fail(AuthError::kInvalidToken,
                  "The provided token is malformed or otherwise invalid.");
    }
  }
  Verified verified;
  verified.type = AuthType::kPostPolicy;
  verified.access_key_id = credential.access_key_id;
  verified.payload_mode = PayloadMode::kUnsigned;
  verified.request_time = *time;
  verified.signature_age_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options.clock->Now() - *time).count();
  verified.region = credential.region;
  verified.amz_date = fields.amz_date;
  VerifyOutcome out;
  out.verified = std::move(verified);
  return out;
}

}  // namespace sparkify::sigv4
