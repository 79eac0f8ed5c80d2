// Authentication (SigV4) and authorisation (identity and bucket policies, Block Public
// Access) of S3 calls.
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

S3Error ToS3(const sigv4::VerifyFailure& f) {
  using E = sigv4::AuthError;
  switch (f.error) {
    case E::kMalformedAuthorization:
    case E::kWrongRegionOrService:
      return {S3ErrorCode::kAuthorizationHeaderMalformed, f.message};
    case E::kMalformedPresign: return {S3ErrorCode::kAuthorizationQueryParametersError, f.message};
    case E::kSigV2NotSupported:
      return {S3ErrorCode::kInvalidRequest,
              "The authorization mechanism you have provided is not supported. Please use "
              "AWS4-HMAC-SHA256."};
    case E::kMissingContentSha256:
      return {S3ErrorCode::kInvalidRequest, "Missing required header for this request: "
                                            "x-amz-content-sha256"};
    case E::kBadContentSha256: return {S3ErrorCode::kInvalidArgument, f.message};
    case E::kUnknownAccessKey: return {S3ErrorCode::kInvalidAccessKeyId, ""};
    case E::kInvalidToken: return {S3ErrorCode::kInvalidToken, f.message};
    case E::kSignatureMismatch: return {S3ErrorCode::kSignatureDoesNotMatch, ""};
    case E::kRequestTimeTooSkewed: return {S3ErrorCode::kRequestTimeTooSkewed, ""};
    case E::kExpired: return {S3ErrorCode::kAccessDenied, "Request has expired"};
    case E::kNotYetValid: return {S3ErrorCode::kAccessDenied, "Request is not valid yet"};
  }
  return {S3ErrorCode::kAccessDenied, ""};
}

}  // namespace

std::optional<S3Error> S3Service::Impl::Authenticate(S3Call& call) {
  sigv4::IncomingRequest in{call.http->method, call.http->path, call.http->query,
                            &call.http->headers};
  return Adopt(sigv4::Verify(in, KeyLookup(), VerifyOptions()), call);
}

sigv4::VerifyOptions S3Service::Impl::VerifyOptions() const {
  sigv4::VerifyOptions opts;
  opts.service = "s3";
  opts.region = options_.region;
  opts.clock = options_.clock;
  return opts;
}

sigv4::KeyLookup S3Service::Impl::KeyLookup() const {
  return [this](std::string_view id) { return identities_->LookupKey(id); };
}

std::optional<S3Error> S3Service::Impl::Adopt(sigv4::VerifyOutcome outcome, S3Call& call) {
  if (!outcome.ok()) return ToS3(*outcome.failure);
  call.auth = std::move(*outcome.verified);
  if (call.auth.type != sigv4::AuthType::kAnonymous) {
    call.principal = identities_->PrincipalFor(call.auth.access_key_id);
    if (!call.principal) return S3Error{S3ErrorCode::kInvalidAccessKeyId, ""};
  }
  return std::nullopt;
}

std::optional<S3Error> S3Service::Impl::AuthenticatePostForm(
    S3Call& call, const std::map<std::string, std::string>& fields) {
  auto field = [&fields](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  sigv4::PostAuthFields post{field("x-amz-algorithm"),      field("x-amz-credential"),
                             field("x-amz-date"),           field("x-amz-signature"),
                             field("x-amz-security-token"), field("policy")};
  return Adopt(sigv4::VerifyPostPolicySignature(post, KeyLookup(), VerifyOptions()), call);
}

namespace {

template <typename T>
bool Cacheable(const T&) {
  return true;
}
template <typename T>
bool Cacheable(const Result<T>& loaded) {
  return loaded.ok();
}

}  // namespace

// A bucket's configuration from the cache, else loaded and cached (errors are not). Loaded outside
// the lock; kept only if no configuration changed meanwhile (a load that raced a Put/Delete of the
// configuration could otherwise pin the old one until the next change) and only for a bucket
// that exists (requests may name any number of buckets that do not).
template <typename T, typename Load>
T S3Service::Impl::CachedConfig(std::map<std::string, T>& cache, const std::string& bucket,
                                Load load) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(config_mu_);
    auto it = cache.find(bucket);
    if (it != cache.end()) return it->second;
    generation = config_generation_;
  }
  T value = load();
  bool exists = store_->GetBucket(bucket).ok();
  std::lock_guard lock(config_mu_);
  if (exists && generation == config_generation_ && Cacheable(value)) {
    cache.insert_or_assign(bucket, value);
  }
  return value;
}

PublicAccessBlock S3Service::Impl::GetPublicAccessBlock(const std::string& bucket) {
  return CachedConfig(pab_cache_, bucket, [&] {
    PublicAccessBlock pab;  // all four on unless the bucket says otherwise
    auto doc = store_->GetBucketDocument(bucket, kPabDoc);
    if (doc.ok()) {
      auto parsed = ParsePublicAccessBlock(*doc);
      if (parsed.ok()) pab = *parsed;
    }
    return pab;
  });
}

std::shared_ptr<const policy::Policy> S3Service::Impl::GetBucketPolicy(const std::string& bucket) {
  return CachedConfig(policy_cache_, bucket, [&] {
    std::shared_ptr<const policy::Policy> result;
    auto doc = store_->GetBucketDocument(bucket, kPolicyDoc);
    if (doc.ok()) {
      auto parsed = policy::Policy::Parse(*doc);
      if (parsed.ok()) {
        result = std::make_shared<policy::Policy>(std::move(*parsed));
      } else {
        spdlog::warn("bucket {}: stored policy no longer parses ({}); ignoring it", bucket,
                     parsed.status().message());
      }
    }
    return result;
  });
}

std::shared_ptr<const CorsConfiguration> S3Service::Impl::GetBucketCors(const std::string& bucket) {
  return CachedConfig(cors_cache_, bucket, [&] {
    std::shared_ptr<const CorsConfiguration> result;
    auto doc = store_->GetBucketDocument(bucket, kCorsDoc);
    if (doc.ok()) {
      auto parsed = ParseCorsConfiguration(*doc);
      if (parsed.ok()) {
        result = std::make_shared<CorsConfiguration>(std::move(*parsed));
      } else {
        spdlog::warn("bucket {}: stored CORS configuration no longer parses ({}); ignoring it",
                     bucket, parsed.status().message());
      }
    }
    return result;
  });
}

Result<bool> S3Service::Impl::EncryptsAtRest(const S3Call& call) {
  if (call.sse_requested) return true;
  // Fails closed: a configuration that cannot be read fails the write (and is not cached)
  // rather than letting it through unencrypted.
  return CachedConfig(default_encryption_cache_, call.bucket, [&]() -> Result<bool> {
    auto doc = store_->GetBucketDocument(call.bucket, kEncryptionDoc);
    if (doc.ok()) {
      auto algorithm = ParseEncryptionConfiguration(*doc);
      if (algorithm.ok() && *algorithm == diskstore::kAes256) return true;
      return Status::Corruption("bucket " + call.bucket +
                                ": the stored encryption configuration does not parse");
    }
    if (!doc.status().IsNotFound()) return doc.status();
    return options_.encrypt_by_default;
  });
}

void S3Service::Impl::ForgetBucketConfig(const std::string& bucket) {
  std::lock_guard lock(config_mu_);
  ++config_generation_;
  pab_cache_.erase(bucket);
  policy_cache_.erase(bucket);
  default_encryption_cache_.erase(bucket);
  cors_cache_.erase(bucket);
}

std::optional<S3Error> S3Service::Impl::Authorize(
    const S3Call& call, std::string_view action, const std::string& resource_arn,
    const std::map<std::string, std::string>& extra) {
  if (call.principal && call.principal->is_root) return std::nullopt;
  std::shared_ptr<const policy::Policy> bucket_policy;
  bool anonymous = !call.principal.has_value();
  if (!call.bucket.empty()) {
    if (anonymous && GetPublicAccessBlock(call.bucket).restrict_public_buckets) {
      return S3Error{S3ErrorCode::kAccessDenied, ""};
    }
    bucket_policy = GetBucketPolicy(call.bucket);
  } else if (anonymous) {
    return S3Error{S3ErrorCode::kAccessDenied, ""};
  }

  policy::RequestContext ctx;
  ctx.action = std::string(action);
  ctx.resource = resource_arn;
  if (!anonymous) ctx.principal_arn = call.principal->arn;
  auto now = options_.clock->Now();
  auto& c = ctx.conditions;
  c["aws:SecureTransport"] = {call.http->secure ? "true" : "false"};
  c["aws:SourceIp"] = {call.http->remote_ip};
  c["aws:CurrentTime"] = {FormatIso8601(now)};
  c["aws:EpochTime"] = {std::to_string(ToUnixSeconds(now))};
  if (!anonymous) {
    c["aws:username"] = {call.principal->user};
    c["aws:userid"] = {call.principal->user};
    c["aws:PrincipalArn"] = {call.principal->arn};
    c["aws:PrincipalAccount"] = {std::string(iam::kAccountId)};
    c["s3:authType"] = {call.auth.type == sigv4::AuthType::kPresigned    ? "REST-QUERY-STRING"
                        : call.auth.type == sigv4::AuthType::kPostPolicy ? "POST"
                                                                         : "REST-HEADER"};
    c["s3:signatureAge"] = {std::to_string(call.auth.signature_age_ms)};
    c["s3:signatureversion"] = {"AWS4-HMAC-SHA256"};
  }
  if (auto sha = call.http->Header("x-amz-content-sha256")) {
    c["s3:x-amz-content-sha256"] = {std::string(*sha)};
  }
  for (const auto& [k, v] : extra) c[k] = {v};

  std::vector<const policy::Policy*> identity;
  if (!anonymous && call.principal->policy) identity.push_back(call.principal->policy.get());
  auto decision = policy::Authorize(identity, bucket_policy.get(), ctx);
  if (decision == policy::Decision::kAllow) return std::nullopt;
  return S3Error{S3ErrorCode::kAccessDenied, ""};
}

}  // namespace sparkify::store
