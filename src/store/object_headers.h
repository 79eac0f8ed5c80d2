// Internal to the store: object metadata to and from HTTP headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "diskstore/disk_store.h"
#include "http/http.h"

namespace sparkify::store {

// Content-Type (default binary/octet-stream), Cache-Control, Content-Disposition,
// Content-Encoding (without aws-chunked), Content-Language, Expires and x-amz-meta-*.
// nullopt when the user metadata exceeds S3's 2 KB.
std::optional<ObjectMeta> MetaFromHeaders(const http::Request& req);

// "CRC32" -> "x-amz-checksum-crc32".
std::string ChecksumHeaderName(std::string_view algorithm);

}  // namespace sparkify::store
