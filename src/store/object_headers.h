// Internal to the store: object metadata to and from HTTP headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "diskstore/disk_store.h"
#include "http/http.h"
#include "store/s3_errors.h"

namespace sparkify::store {

// Content-Type (default binary/octet-stream), Cache-Control, Content-Disposition,
// Content-Encoding (without aws-chunked), Content-Language, Expires and x-amz-meta-*.
// nullopt when the user metadata exceeds S3's 2 KB.
std::optional<ObjectMeta> MetaFromHeaders(const http::Request& req);

// "CRC32" -> "x-amz-checksum-crc32".
std::string ChecksumHeaderName(std::string_view algorithm);

// S3 conditional writes (PutObject, CompleteMultipartUpload): If-None-Match: * (the key must
// not exist) and If-Match: <ETag> or * (it must exist, with that ETag). An If-None-Match other
// than * is NotImplemented, as in S3; an empty If-Match is InvalidArgument.
std::optional<S3Error> ReadWriteCondition(const http::Request& req, WriteCondition* out);

// The S3 error for a write whose WriteCondition did not hold (412 PreconditionFailed, or 404
// NoSuchKey for If-Match on a missing key); nullopt for any other Status.
std::optional<S3Error> ConditionError(const Status& status);

}  // namespace sparkify::store
