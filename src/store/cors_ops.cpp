// Bucket CORS: Put/Get/DeleteBucketCors, the browser's preflight (OPTIONS), and the
// Access-Control-* headers on the answers to cross-origin requests (docs/s3.md, "CORS").
#include "store/internal/cors.h"
#include "store/internal/object_headers.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {

Status AllowBrowserUploads(diskstore::DiskStore& store, const std::string& bucket,
                           const std::vector<std::string>& origins) {
  if (origins.empty()) return Status::InvalidArgument("a CORS rule needs an origin");
  CorsRule rule;
  rule.id = "sparkify-browser-uploads";
  rule.allowed_origins = origins;
  rule.allowed_methods = {"GET", "HEAD", "POST"};
  rule.allowed_headers = {"*"};
  rule.expose_headers = {"ETag"};
  rule.max_age_seconds = 600;
  CorsConfiguration config{{rule}};
  if (auto problem = CorsConfigurationProblem(config)) return Status::InvalidArgument(*problem);
  return store.PutBucketDocument(bucket, kCorsDoc, CorsConfigurationXml(config));
}

Reply S3Service::Impl::BucketCors(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  if (call.op.op == Op::kGetBucketCors) {
    auto doc = store()->GetBucketDocument(call.bucket, kCorsDoc);
    if (!doc.ok()) {
      if (!doc.status().IsNotFound()) return StoreError(call, doc.status());
      return Error(call, S3ErrorCode::kNoSuchCORSConfiguration);
    }
    return Xml(call, *doc);
  }
  if (call.op.op == Op::kDeleteBucketCors) {
    Status s = store()->DeleteBucketDocument(call.bucket, kCorsDoc);
    if (!s.ok() && !s.IsNotFound()) return StoreError(call, s);
    ForgetBucketConfig(call.bucket);
    return Ok(call, 204);
  }
  auto body = call.http->ReadAll(kMaxCorsDocumentBytes);
  if (!body.ok()) {
    if (body.status().code() == Status::Code::kResourceExhausted) {
      return Error(
          call, S3ErrorCode::kMalformedXML,
          "A CORS configuration is at most " + std::to_string(kMaxCorsDocumentBytes) + " bytes.");
    }
    return Error(call, FromStatus(body.status()));
  }
  if (auto bad = CheckBodyDigests(*call.http, *body)) return Error(call, *bad);
  auto config = ParseCorsConfiguration(*body);
  if (!config.ok()) return Error(call, S3ErrorCode::kMalformedXML, config.status().message());
  if (auto problem = CorsConfigurationProblem(*config)) {
    return Error(call, S3ErrorCode::kInvalidRequest, *problem);
  }
  Status s = store()->PutBucketDocument(call.bucket, kCorsDoc, CorsConfigurationXml(*config));
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  return Ok(call);
}

// Unsigned by design (a browser sends no credentials with a preflight): it reveals only the
// bucket's CORS rules for the origin asked about, as S3 does.
Reply S3Service::Impl::Preflight(S3Call& call) {
  if (!ValidBucketName(call.bucket) || !store()->GetBucket(call.bucket).ok()) {
    return Error(call, S3ErrorCode::kNoSuchBucket);
  }
  auto origin = call.http->Header("origin");
  if (!origin || origin->empty()) return Error(call, S3ErrorCode::kBadRequest);
  auto method = call.http->Header("access-control-request-method");
  if (!method || method->empty()) {
    return Error(call, S3ErrorCode::kBadRequest,
                 "Invalid Access-Control-Request-Method: " + std::string(method.value_or("null")));
  }
  auto config = GetBucketCors(call.bucket);
  if (!config) {
    return Error(call, S3ErrorCode::kAccessForbidden,
                 "CORSResponse: CORS is not enabled for this bucket.");
  }
  std::vector<std::string> headers =
      SplitRequestHeaders(call.http->Header("access-control-request-headers").value_or(""));
  const CorsRule* rule = MatchCorsRule(*config, *origin, *method, headers);
  if (rule == nullptr) return Error(call, S3ErrorCode::kAccessForbidden);
  Reply reply = Ok(call);
  for (auto& header : CorsHeaders(*rule, *origin, true, headers)) {
    reply.headers.push_back(std::move(header));
  }
  return reply;
}

void S3Service::Impl::AddCorsHeaders(const S3Call& call, Reply* reply) {
  auto origin = call.http->Header("origin");
  if (!origin || origin->empty() || call.bucket.empty() || !ValidBucketName(call.bucket)) return;
  auto config = GetBucketCors(call.bucket);
  if (!config) return;
  const CorsRule* rule = MatchCorsRule(*config, *origin, call.http->method, {});
  if (rule == nullptr) return;
  for (auto& header : CorsHeaders(*rule, *origin, false, {})) {
    reply->headers.push_back(std::move(header));
  }
}

}  // namespace sparkify::store
