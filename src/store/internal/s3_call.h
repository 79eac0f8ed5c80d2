// Internal to the store: one S3 request in flight, and the service's shared parts.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "diskstore/disk_store.h"
#include "http/http.h"
#include "iam/identity.h"
#include "policy/policy.h"
#include "sigv4/sigv4.h"
#include "store/internal/cors.h"
#include "store/internal/post_form.h"
#include "store/internal/s3_errors.h"
#include "store/internal/s3_operation.h"
#include "store/internal/s3_xml.h"
#include "store/s3_service.h"

namespace sparkify::store {

struct S3Call {
  http::Request* http;
  std::string request_id;
  std::string bucket;
  std::string key;
  std::map<std::string, std::string> query;  // decoded
  OpInfo op;
  std::optional<iam::Principal> principal;  // empty: anonymous
  sigv4::Verified auth;
  std::string resource;        // "/bucket/key", for error bodies
  bool sse_requested = false;  // x-amz-server-side-encryption: AES256 on a write

  std::string_view Query(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string_view() : std::string_view(it->second);
  }
  bool HasQuery(const std::string& name) const { return query.count(name) > 0; }
};

using Reply = http::Response;

class S3Service::Impl {
 public:
  Impl(diskstore::DiskStore* store, iam::IdentityStore* identities, S3ServiceOptions options)
      : store_(store), identities_(identities), options_(std::move(options)) {}

  Reply Handle(http::Request& request);

  // s3_auth.cpp
  std::optional<S3Error> Authenticate(S3Call& call);
  // A POST Object form's signature (x-amz-credential, x-amz-signature over the policy, ...):
  // sets call.auth and call.principal.
  std::optional<S3Error> AuthenticatePostForm(S3Call& call,
                                              const std::map<std::string, std::string>& fields);
  // How requests are verified: service s3, this store's region and clock, its keys.
  sigv4::VerifyOptions VerifyOptions() const;
  sigv4::KeyLookup KeyLookup() const;
  // A verification's caller into the call: its auth and, unless anonymous, its principal.
  std::optional<S3Error> Adopt(sigv4::VerifyOutcome outcome, S3Call& call);
  // Checks `action` on `resource_arn` for the caller. extra: additional condition keys.
  std::optional<S3Error> Authorize(const S3Call& call, std::string_view action,
                                   const std::string& resource_arn,
                                   const std::map<std::string, std::string>& extra = {});
  PublicAccessBlock GetPublicAccessBlock(const std::string& bucket);
  std::shared_ptr<const policy::Policy> GetBucketPolicy(const std::string& bucket);
  void ForgetBucketConfig(const std::string& bucket);
  // Whether a write to the call's bucket is encrypted at rest: asked by the request, or the
  // bucket's default encryption (PutBucketEncryption, else the store's) is AES256.
  // Errors (the configuration cannot be read) fail the write.
  Result<bool> EncryptsAtRest(const S3Call& call);

  // bucket_ops.cpp
  Reply ListBuckets(S3Call& call);
  Reply CreateBucket(S3Call& call);
  Reply DeleteBucket(S3Call& call);
  Reply HeadBucket(S3Call& call);
  Reply GetBucketLocation(S3Call& call);
  Reply BucketPolicy(S3Call& call);
  Reply PublicAccessBlockOp(S3Call& call);
  Reply BucketEncryption(S3Call& call);
  // post_object_ops.cpp: a browser's upload form (POST /bucket, multipart/form-data).
  Reply PostObject(S3Call& call);
  Reply StorePostedFile(S3Call& call, const PostForm& form, const http::Request& as_headers,
                        PostFormReader& reader,
                        std::optional<std::pair<uint64_t, uint64_t>> length_range);
  Reply PostAnswer(const S3Call& call, const PostForm& form, const diskstore::ObjectMeta& stored);
  // cors_ops.cpp
  Reply BucketCors(S3Call& call);
  // A browser's preflight (OPTIONS): answered from the bucket's CORS rules, unauthenticated.
  Reply Preflight(S3Call& call);
  // Adds the Access-Control-* headers to the answer of a request with an Origin that a rule of
  // the bucket's allows.
  void AddCorsHeaders(const S3Call& call, Reply* reply);
  // The bucket's CORS configuration; null when it has none.
  std::shared_ptr<const CorsConfiguration> GetBucketCors(const std::string& bucket);
  Reply DeleteObjects(S3Call& call);
  // list_ops.cpp
  Reply ListObjects(S3Call& call, bool v2);
  // object_ops.cpp
  Reply PutObject(S3Call& call);
  Reply CopyObject(S3Call& call);
  Reply GetObject(S3Call& call, bool head);
  Reply DeleteObject(S3Call& call);
  // multipart_ops.cpp
  Reply CreateMultipartUpload(S3Call& call);
  Reply UploadPart(S3Call& call);
  Reply CompleteMultipartUpload(S3Call& call);
  Reply AbortMultipartUpload(S3Call& call);
  Reply ListParts(S3Call& call);
  Reply ListMultipartUploads(S3Call& call);

  Reply Error(const S3Call& call, S3ErrorCode code, std::string message = {}) const {
    return ErrorResponse({code, std::move(message)}, call.resource, call.request_id);
  }
  Reply Error(const S3Call& call, const S3Error& error) const {
    return ErrorResponse(error, call.resource, call.request_id);
  }
  // A fresh OK reply with the request id header set.
  Reply Ok(const S3Call& call, int status = 200) const;
  Reply Xml(const S3Call& call, std::string body) const;
  // Maps a store NotFound to NoSuchBucket or NoSuchKey by asking whether the bucket exists.
  Reply StoreError(const S3Call& call, const Status& status);

  diskstore::DiskStore* store() { return store_; }
  const S3ServiceOptions& options() const { return options_; }

 private:
  template <typename T, typename Load>
  T CachedConfig(std::map<std::string, T>& cache, const std::string& bucket, Load load);

  diskstore::DiskStore* store_;
  iam::IdentityStore* identities_;
  S3ServiceOptions options_;
  std::mutex config_mu_;
  std::map<std::string, PublicAccessBlock> pab_cache_;
  std::map<std::string, std::shared_ptr<const policy::Policy>> policy_cache_;
  // bucket -> AES256 by default; errors are not cached (CachedConfig keeps only values).
  std::map<std::string, Result<bool>> default_encryption_cache_;
  std::map<std::string, std::shared_ptr<const CorsConfiguration>> cors_cache_;
  uint64_t config_generation_ = 0;  // bumped by every ForgetBucketConfig
};

// Helpers shared by the op files.
std::string ObjectArn(std::string_view bucket, std::string_view key);
std::string BucketArn(std::string_view bucket);
std::string QuoteEtag(std::string_view etag);
// The bucket documents (DiskStore::PutBucketDocument) of a bucket's configuration.
inline constexpr std::string_view kPolicyDoc = "policy.json";
inline constexpr std::string_view kPabDoc = "public-access-block.xml";
inline constexpr std::string_view kEncryptionDoc = "encryption.xml";
inline constexpr std::string_view kCorsDoc = "cors.xml";
inline constexpr std::string_view kXmlHeader = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
inline constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

}  // namespace sparkify::store
