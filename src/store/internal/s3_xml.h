// Parsers for the XML request bodies S3 clients send. Pure and thread-safe; every parser
// refuses documents that are not well-formed or do not have the expected shape
// (Status InvalidArgument, which the service answers as MalformedXML).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sparkify::store {

// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...
// ETags are returned without quotes.
Result<std::vector<std::pair<int, std::string>>> ParseCompleteMultipartUpload(std::string_view xml);

struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;  // at most 1000
};
// <Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>...</Delete>
Result<DeleteRequest> ParseDeleteObjects(std::string_view xml);

// <CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>...
// An empty body is valid (us-east-1).
Result<std::string> ParseCreateBucketConfiguration(std::string_view xml);

struct PublicAccessBlock {
  bool block_public_acls = true;
  bool ignore_public_acls = true;
  bool block_public_policy = true;
  bool restrict_public_buckets = true;
  bool all_on() const {
    return block_public_acls && ignore_public_acls && block_public_policy &&
           restrict_public_buckets;
  }
};
// <PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>...; absent
// elements are false, as in S3.
Result<PublicAccessBlock> ParsePublicAccessBlock(std::string_view xml);
std::string PublicAccessBlockXml(const PublicAccessBlock& block);

// <ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>
// <SSEAlgorithm>AES256</SSEAlgorithm>...</ApplyServerSideEncryptionByDefault></Rule>...:
// the default algorithm of the one rule, as given ("AES256", "aws:kms", ...). It is for the
// caller to refuse what it does not implement.
Result<std::string> ParseEncryptionConfiguration(std::string_view xml);
std::string EncryptionConfigurationXml(std::string_view algorithm);

}  // namespace sparkify::store
