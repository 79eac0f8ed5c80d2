// Private: the S3 XML documents the client reads and writes. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "s3client/s3client.h"

namespace sparkify::s3client::internal {

struct ErrorDocument {
  std::string code;
  std::string message;
};
// <Error><Code/><Message/>...</Error>; nullopt when the body is not such a document.
std::optional<ErrorDocument> ParseErrorDocument(std::string_view body);

// <ListBucketResult> of ListObjectsV2. Keys and prefixes are URL-decoded when the document
// says <EncodingType>url</EncodingType>. Corruption on a malformed document.
Result<ListResult> ParseListObjectsV2(std::string_view body);

// <CreateBucketConfiguration> naming the region.
std::string CreateBucketConfiguration(std::string_view region);

}  // namespace sparkify::s3client::internal
