// Who may invoke: SigV4 (service "lambda") against the store's keys, then the caller's
// identity policy for lambda:InvokeFunction on the function's ARN (root may do anything).
// Unsigned invokes pass only from loopback, and only when the options allow them (or from
// anywhere with allow_unsigned_remote, for a container's published port).
#include <optional>

#include "common/crypto.h"
#include "iam/identity.h"
#include "lambda/internal/emulator_impl.h"
#include "policy/policy.h"
#include "sigv4/sigv4.h"

namespace sparkify::lambda::internal {
namespace {

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.";
constexpr std::string_view kBadToken = "The security token included in the request is invalid.";

InvokeDenial FromVerifyFailure(const sigv4::VerifyFailure& f) {
  using E = sigv4::AuthError;
  switch (f.error) {
    case E::kMalformedAuthorization:
    case E::kMalformedPresign:
    case E::kSigV2NotSupported:
    case E::kMissingContentSha256:
    case E::kBadContentSha256:
      return {InvokeError::kIncompleteSignature, f.message};
    case E::kUnknownAccessKey:
    case E::kInvalidToken:
      return {InvokeError::kUnrecognizedClient, std::string(kBadToken)};
    case E::kSignatureMismatch:
      return {InvokeError::kInvalidSignature, std::string(kSignatureMismatch)};
    case E::kWrongRegionOrService:
    case E::kRequestTimeTooSkewed:
    case E::kExpired:
    case E::kNotYetValid:
      return {InvokeError::kInvalidSignature, f.message};
  }
  return {InvokeError::kInvalidSignature, f.message};
}

bool IsLoopback(std::string_view ip) {
  if (ip.starts_with("::ffff:")) ip.remove_prefix(7);
  return ip.starts_with("127.") || ip == "::1";
}

}  // namespace

std::optional<InvokeDenial> AuthorizeInvoke(const http::Request& req, std::string_view body,
                                            const EmulatorOptions& options,
                                            const std::string& function_arn) {
  std::string body_sha = Sha256Hex(body);
  sigv4::IncomingRequest in;
  in.method = req.method;
  in.raw_path = req.path;
  in.raw_query = req.query;
  in.headers = &req.headers;
  in.body_sha256_hex = body_sha;
  sigv4::VerifyOptions verify;
  verify.service = "lambda";
  verify.region = options.region;
  verify.require_content_sha256 = false;
  verify.clock = options.clock;
  iam::IdentityStore* ids = options.identities;
  auto outcome = sigv4::Verify(
      in,
      [ids](std::string_view key) -> std::optional<sigv4::KeyInfo> {
        if (ids == nullptr) return std::nullopt;
        return ids->LookupKey(key);
      },
      verify);
  if (!outcome.ok()) return FromVerifyFailure(*outcome.failure);
  const sigv4::Verified& v = *outcome.verified;
  if (v.type == sigv4::AuthType::kAnonymous) {
    // Unsigned invokes are for curl and scripts on this machine. A web page the user happens
    // to visit can POST here too (a "simple" cross-site request, no preflight), and browsers
    // always mark such requests with Origin or Sec-Fetch-Site: refuse them.
    auto fetch_site = req.Header("sec-fetch-site");
    if (req.Header("origin") || (fetch_site && *fetch_site != "none")) {
      return InvokeDenial{InvokeError::kMissingAuthenticationToken,
                          "Missing Authentication Token: unsigned invokes from a web browser "
                          "are refused; sign the request with SigV4"};
    }
    if (options.allow_unsigned_remote) return std::nullopt;
    if (options.allow_unsigned_loopback && IsLoopback(req.remote_ip)) return std::nullopt;
    return InvokeDenial{InvokeError::kMissingAuthenticationToken, "Missing Authentication Token"};
  }
  // Verify found the key, so an identity store is there.
  std::optional<iam::Principal> principal = ids->PrincipalFor(v.access_key_id);
  if (!principal) return InvokeDenial{InvokeError::kUnrecognizedClient, std::string(kBadToken)};
  if (principal->is_root) return std::nullopt;

  policy::RequestContext ctx;
  ctx.principal_arn = principal->arn;
  ctx.action = "lambda:InvokeFunction";
  ctx.resource = function_arn;
  TimePoint now = options.clock->Now();
  auto& c = ctx.conditions;
  c["aws:SecureTransport"] = {req.secure ? "true" : "false"};
  c["aws:SourceIp"] = {req.remote_ip};
  c["aws:CurrentTime"] = {FormatIso8601(now)};
  c["aws:EpochTime"] = {std::to_string(ToUnixSeconds(now))};
  c["aws:username"] = {principal->user};
  c["aws:userid"] = {principal->user};
  c["aws:PrincipalArn"] = {principal->arn};
  c["aws:PrincipalAccount"] = {std::string(iam::kAccountId)};
  c["aws:RequestedRegion"] = {options.region};
  std::vector<const policy::Policy*> identity;
  if (principal->policy) identity.push_back(principal->policy.get());
  policy::Decision decision = policy::Authorize(identity, nullptr, ctx);
  if (decision == policy::Decision::kAllow) return std::nullopt;
  std::string why =
      decision == policy::Decision::kExplicitDeny
          ? "with an explicit deny in an identity-based policy"
          : "because no identity-based policy allows the lambda:InvokeFunction action";
  return InvokeDenial{InvokeError::kAccessDenied,
                      "User: " + principal->arn +
                          " is not authorized to perform: lambda:InvokeFunction on resource: " +
                          function_arn + " " + why};
}

}  // namespace sparkify::lambda::internal
