// Which S3 operation a request is, and the IAM action that authorises it. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace sparkify::store {

enum class Op {
  kListBuckets,
  kCreateBucket,
  kDeleteBucket,
  kHeadBucket,
  kGetBucketLocation,
  kListObjects,  // V1
  kListObjectsV2,
  kDeleteObjects,
  kGetBucketPolicy,
  kPutBucketPolicy,
  kDeleteBucketPolicy,
  kGetPublicAccessBlock,
  kPutPublicAccessBlock,
  kDeletePublicAccessBlock,
  kGetBucketEncryption,
  kPutBucketEncryption,
  kDeleteBucketEncryption,
  kGetBucketCors,
  kPutBucketCors,
  kDeleteBucketCors,
  kPutObject,
  kCopyObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kCreateMultipartUpload,
  kUploadPart,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kListMultipartUploads,
  kPostObject,      // a browser's upload form: authorised by the form's signed policy
  kPreflight,       // OPTIONS from a browser: answered from the bucket's CORS rules, unsigned
  kNotImplemented,  // a sub-resource we do not serve
  kMethodNotAllowed,
};

struct OpInfo {
  Op op;
  std::string_view name;        // "PutObject", for logs
  std::string_view iam_action;  // "s3:PutObject"; empty: none (errors)
  bool object_level;            // resource is the object ARN, else the bucket ARN
};

// `query` holds decoded parameters; only their presence matters here except for
// x-amz-copy-source, passed as `has_copy_source`.
OpInfo Classify(std::string_view method, std::string_view bucket, std::string_view key,
                const std::map<std::string, std::string>& query, bool has_copy_source);

}  // namespace sparkify::store
