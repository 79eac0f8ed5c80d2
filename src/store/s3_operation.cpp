#include "store/internal/s3_operation.h"

namespace sparkify::store {
namespace {

constexpr OpInfo Make(Op op, std::string_view name, std::string_view action, bool object) {
  return OpInfo{op, name, action, object};
}

// Sub-resources that select another API than the plain bucket or object one.
constexpr std::string_view kUnsupported[] = {"acl",
                                             "cors",
                                             "encryption",
                                             "lifecycle",
                                             "logging",
                                             "notification",
                                             "replication",
                                             "tagging",
                                             "versioning",
                                             "versions",
                                             "website",
                                             "object-lock",
                                             "retention",
                                             "legal-hold",
                                             "torrent",
                                             "accelerate",
                                             "requestPayment",
                                             "analytics",
                                             "inventory",
                                             "metrics",
                                             "ownershipControls",
                                             "intelligent-tiering",
                                             "select",
                                             "restore",
                                             "attributes"};

}  // namespace

OpInfo Classify(std::string_view method, std::string_view bucket, std::string_view key,
                const std::map<std::string, std::string>& q, bool has_copy_source) {
  auto has = [&](const char* k) { return q.count(k) > 0; };
  if (bucket.empty()) {
    if (method == "GET") return Make(Op::kListBuckets, "ListBuckets", "s3:ListAllMyBuckets", false);
    return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
  }
  if (method == "OPTIONS") return Make(Op::kPreflight, "PreflightRequest", "", !key.empty());
  if (key.empty()) {
    if (has("cors")) {
      if (method == "GET") return Make(Op::kGetBucketCors, "GetBucketCors", "s3:GetBucketCORS", false);
      if (method == "PUT") return Make(Op::kPutBucketCors, "PutBucketCors", "s3:PutBucketCORS", false);
      if (method == "DELETE") return Make(Op::kDeleteBucketCors, "DeleteBucketCors", "s3:PutBucketCORS", false);
      return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
    }
    if (has("policy")) {
      if (method == "GET") return Make(Op::kGetBucketPolicy, "GetBucketPolicy", "s3:GetBucketPolicy", false);
      if (method == "PUT") return Make(Op::kPutBucketPolicy, "PutBucketPolicy", "s3:PutBucketPolicy", false);
      if (method == "DELETE") return Make(Op::kDeleteBucketPolicy, "DeleteBucketPolicy", "s3:DeleteBucketPolicy", false);
      return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
    }
    if (has("publicAccessBlock")) {
      if (method == "GET") return Make(Op::kGetPublicAccessBlock, "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock", false);
      if (method == "PUT") return Make(Op::kPutPublicAccessBlock, "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", false);
      if (method == "DELETE") return Make(Op::kDeletePublicAccessBlock, "DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock", false);
      return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
    }
    if (has("encryption")) {
      if (method == "GET") return Make(Op::kGetBucketEncryption, "GetBucketEncryption", "s3:GetEncryptionConfiguration", false);
      if (method == "PUT") return Make(Op::kPutBucketEncryption, "PutBucketEncryption", "s3:PutEncryptionConfiguration", false);
      if (method == "DELETE") return Make(Op::kDeleteBucketEncryption, "DeleteBucketEncryption", "s3:PutEncryptionConfiguration", false);
      return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
    }
    if (has("location") && method == "GET") {
      return Make(Op::kGetBucketLocation, "GetBucketLocation", "s3:GetBucketLocation", false);
    }
    if (has("uploads") && method == "GET") {
      return Make(Op::kListMultipartUploads, "ListMultipartUploads",
                  "s3:ListBucketMultipartUploads", false);
    }
    if (has("delete") && method == "POST") {
      return Make(Op::kDeleteObjects, "DeleteObjects", "s3:DeleteObject", false);
    }
    for (auto sub : kUnsupported) {
      if (q.count(std::string(sub))) return Make(Op::kNotImplemented, "NotImplemented", "", false);
    }
    if (method == "GET") {
      if (has("list-type")) return Make(Op::kListObjectsV2, "ListObjectsV2", "s3:ListBucket", false);
      return Make(Op::kListObjects, "ListObjects", "s3:ListBucket", false);
    }
    if (method == "HEAD") return Make(Op::kHeadBucket, "HeadBucket", "s3:ListBucket", false);
    if (method == "PUT") return Make(Op::kCreateBucket, "CreateBucket", "s3:CreateBucket", false);
    if (method == "DELETE") return Make(Op::kDeleteBucket, "DeleteBucket", "s3:DeleteBucket", false);
    if (method == "POST") return Make(Op::kPostObject, "PostObject", "s3:PutObject", true);
    return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", false);
  }
  // Object level.
  if (has("uploadId")) {
    if (method == "PUT" && has("partNumber")) {
      if (has_copy_source) return Make(Op::kNotImplemented, "UploadPartCopy", "", true);
      return Make(Op::kUploadPart, "UploadPart", "s3:PutObject", true);
    }
    if (method == "POST") return Make(Op::kCompleteMultipartUpload, "CompleteMultipartUpload", "s3:PutObject", true);
    if (method == "DELETE") return Make(Op::kAbortMultipartUpload, "AbortMultipartUpload", "s3:AbortMultipartUpload", true);
    if (method == "GET") return Make(Op::kListParts, "ListParts", "s3:ListMultipartUploadParts", true);
    return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", true);
  }
  if (has("uploads") && method == "POST") {
    return Make(Op::kCreateMultipartUpload, "CreateMultipartUpload", "s3:PutObject", true);
  }
  for (auto sub : kUnsupported) {
    if (q.count(std::string(sub))) return Make(Op::kNotImplemented, "NotImplemented", "", true);
  }
  if (method == "GET") return Make(Op::kGetObject, "GetObject", "s3:GetObject", true);
  if (method == "HEAD") return Make(Op::kHeadObject, "HeadObject", "s3:GetObject", true);
  if (method == "PUT") {
    if (has_copy_source) return Make(Op::kCopyObject, "CopyObject", "s3:PutObject", true);
    return Make(Op::kPutObject, "PutObject", "s3:PutObject", true);
  }
  if (method == "DELETE") return Make(Op::kDeleteObject, "DeleteObject", "s3:DeleteObject", true);
  return Make(Op::kMethodNotAllowed, "MethodNotAllowed", "", true);
}

}  // namespace sparkify::store
