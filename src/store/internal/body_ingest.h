// Internal to the store: reading a PUT body into an ObjectWriter while checking everything
// the client declared about it (length, SHA-256, Content-MD5, x-amz-checksum-*, aws-chunked
// signatures and trailers).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "diskstore/disk_store.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {

struct IngestResult {
  uint64_t size = 0;
  // Verified checksums to keep with the object: "CRC32" -> base64, ...
  std::map<std::string, std::string> checksums;
};

struct IngestOutcome {
  std::optional<S3Error> error;
  IngestResult result;
};

// Checks the declared size first (so an oversized upload is refused before "100 Continue"),
// then streams the body. On error nothing is committed (the caller drops the writer).
IngestOutcome IngestBody(const S3Call& call, diskstore::ObjectWriter* writer, uint64_t max_size);

// Content-Encoding without the transport-only "aws-chunked" token.
std::string StoredContentEncoding(std::string_view header);

}  // namespace sparkify::store
