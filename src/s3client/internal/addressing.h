// Private: endpoint parsing and how a bucket and key map to a host and path (path-style or
// virtual-hosted). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "s3client/s3client.h"

namespace sparkify::s3client::internal {

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1:9000"; a default port (80/443) is left out, as curl sends it
};

// Accepts "http(s)://host[:port]" with an optional trailing '/'; InvalidArgument otherwise.
Result<Endpoint> ParseEndpoint(std::string_view url);

// Bucket names usable as a DNS label under TLS: 3..63 of [a-z0-9-], alphanumeric at both ends.
bool IsVirtualHostable(std::string_view bucket);

// Where a request for BUCKET/KEY goes. `key` may be empty (bucket operations).
struct Target {
  std::string host;
  std::string decoded_path;  // "/bucket/key" or "/key"; not yet percent-encoded
};
Target TargetFor(const Endpoint& endpoint, Addressing addressing, std::string_view bucket,
                 std::string_view key);

// InvalidArgument unless the bucket is non-empty and free of '/', and (when required) the key
// is non-empty.
Status CheckNames(std::string_view bucket, std::string_view key, bool need_key);

// "s3://bucket/key" -> {bucket, key}.
Result<std::pair<std::string, std::string>> ParseS3Url(std::string_view url);

}  // namespace sparkify::s3client::internal
