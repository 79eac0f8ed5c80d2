#include "store/internal/s3_operation.h"

#include <gtest/gtest.h>

namespace sparkify::store {
namespace {

struct Case {
  int id;
  const char* method;
  const char* bucket;
  const char* key;
  std::map<std::string, std::string> query;
  bool copy_source;
  Op op;
  const char* action;
};

TEST(S3OperationTest, ClassifiesRequests) {
  const Case cases[] = {
      {1, "GET", "", "", {}, false, Op::kListBuckets, "s3:ListAllMyBuckets"},
      {2, "PUT", "", "", {}, false, Op::kMethodNotAllowed, ""},
      {3, "PUT", "b", "", {}, false, Op::kCreateBucket, "s3:CreateBucket"},
      {4, "DELETE", "b", "", {}, false, Op::kDeleteBucket, "s3:DeleteBucket"},
      {5, "HEAD", "b", "", {}, false, Op::kHeadBucket, "s3:ListBucket"},
      {6, "GET", "b", "", {}, false, Op::kListObjects, "s3:ListBucket"},
      {7, "GET", "b", "", {{"list-type", "2"}}, false, Op::kListObjectsV2, "s3:ListBucket"},
      {8,
       "GET",
       "b",
       "",
       {{"location", ""}},
       false,
       Op::kGetBucketLocation,
       "s3:GetBucketLocation"},
      {9, "POST", "b", "", {{"delete", ""}}, false, Op::kDeleteObjects, "s3:DeleteObject"},
      {10, "PUT", "b", "", {{"policy", ""}}, false, Op::kPutBucketPolicy, "s3:PutBucketPolicy"},
      {11,
       "GET",
       "b",
       "",
       {{"publicAccessBlock", ""}},
       false,
       Op::kGetPublicAccessBlock,
       "s3:GetBucketPublicAccessBlock"},
      {12, "GET", "b", "", {{"versioning", ""}}, false, Op::kNotImplemented, ""},
      {13, "PUT", "b", "k", {}, false, Op::kPutObject, "s3:PutObject"},
      {14, "PUT", "b", "k", {}, true, Op::kCopyObject, "s3:PutObject"},
      {15, "GET", "b", "k", {}, false, Op::kGetObject, "s3:GetObject"},
      {16, "HEAD", "b", "k", {}, false, Op::kHeadObject, "s3:GetObject"},  // no s3:HeadObject
      {17, "DELETE", "b", "k", {}, false, Op::kDeleteObject, "s3:DeleteObject"},
      {18, "POST", "b", "k", {{"uploads", ""}}, false, Op::kCreateMultipartUpload, "s3:PutObject"},
      {19,
       "PUT",
       "b",
       "k",
       {{"uploadId", "x"}, {"partNumber", "1"}},
       false,
       Op::kUploadPart,
       "s3:PutObject"},
      {20,
       "POST",
       "b",
       "k",
       {{"uploadId", "x"}},
       false,
       Op::kCompleteMultipartUpload,
       "s3:PutObject"},
      {21,
       "DELETE",
       "b",
       "k",
       {{"uploadId", "x"}},
       false,
       Op::kAbortMultipartUpload,
       "s3:AbortMultipartUpload"},
      {22,
       "GET",
       "b",
       "k",
       {{"uploadId", "x"}},
       false,
       Op::kListParts,
       "s3:ListMultipartUploadParts"},
      {23, "GET", "b", "k", {{"acl", ""}}, false, Op::kNotImplemented, ""},
      {24, "PATCH", "b", "k", {}, false, Op::kMethodNotAllowed, ""},
      {25,
       "PUT",
       "b",
       "k",
       {{"uploadId", "x"}, {"partNumber", "1"}},
       true,
       Op::kNotImplemented,
       ""},
      {26,
       "GET",
       "b",
       "k",
       {{"response-content-type", "text/plain"}},
       false,
       Op::kGetObject,
       "s3:GetObject"},
      {27,
       "PUT",
       "b",
       "",
       {{"encryption", ""}},
       false,
       Op::kPutBucketEncryption,
       "s3:PutEncryptionConfiguration"},
      {28,
       "GET",
       "b",
       "",
       {{"encryption", ""}},
       false,
       Op::kGetBucketEncryption,
       "s3:GetEncryptionConfiguration"},
      {29,
       "DELETE",
       "b",
       "",
       {{"encryption", ""}},
       false,
       Op::kDeleteBucketEncryption,
       "s3:PutEncryptionConfiguration"},
      {30, "POST", "b", "", {{"encryption", ""}}, false, Op::kMethodNotAllowed, ""},
      {31, "PUT", "b", "", {{"cors", ""}}, false, Op::kPutBucketCors, "s3:PutBucketCORS"},
      {32, "GET", "b", "", {{"cors", ""}}, false, Op::kGetBucketCors, "s3:GetBucketCORS"},
      {33, "DELETE", "b", "", {{"cors", ""}}, false, Op::kDeleteBucketCors, "s3:PutBucketCORS"},
      {34, "POST", "b", "", {{"cors", ""}}, false, Op::kMethodNotAllowed, ""},
      {35, "GET", "b", "k", {{"cors", ""}}, false, Op::kNotImplemented, ""},
      // A preflight is not signed: no action to authorise.
      {36, "OPTIONS", "b", "k", {}, false, Op::kPreflight, ""},
      {37, "OPTIONS", "b", "", {}, false, Op::kPreflight, ""},
      {38, "OPTIONS", "", "", {}, false, Op::kMethodNotAllowed, ""},
      {39, "POST", "b", "", {}, false, Op::kPostObject, "s3:PutObject"},
      {40, "POST", "b", "k", {}, false, Op::kMethodNotAllowed, ""},
  };
  for (const auto& c : cases) {
    OpInfo info = Classify(c.method, c.bucket, c.key, c.query, c.copy_source);
    EXPECT_EQ(info.op, c.op) << "case " << c.id;
    EXPECT_EQ(info.iam_action, c.action) << "case " << c.id;
  }
}

}  // namespace
}  // namespace sparkify::store
