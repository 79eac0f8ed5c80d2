// Private: the S3 client's exchanges, over the product's one HTTP client (httpclient.h). A 2xx
// body goes to the caller's sink; the body of any other answer is kept for its XML error.
// Thread-safe, as httpclient::Perform is.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"
#include "httpclient/httpclient.h"
#include "s3client/s3client.h"
#include "sigv4/sigv4.h"

namespace sparkify::s3client::internal {

// The exchange options of a client's requests: its timeouts, TLS and User-Agent; the path
// sent as encoded, never squashed (S3 keys may hold "../" or "./"); a proxy from the
// environment, as the AWS SDKs use.
httpclient::Options HttpOptionsFor(const ClientOptions& options);

// The request body: `file` (read from its current position) when set, else `memory`.
using RequestBody = httpclient::Body;
// Receives the body of a 2xx response.
using BodySink = httpclient::Sink;

// Collects up to `cap` bytes in memory; more is ResourceExhausted.
class MemorySink : public httpclient::StringSink {
 public:
  MemorySink(std::string* out, uint64_t cap) : StringSink(out, cap, "the object") {}
};

// Appends to an open file.
using FileSink = httpclient::FileSink;

struct HttpResponse {
  long status = 0;
  sigv4::Headers headers;  // of the final response, names as received
  std::string error_body;  // the body of a non-2xx response (first 64 KiB)
};

// Sends `method url` with exactly `headers` (plus libcurl's Accept and User-Agent) and the
// body, if any (PUT sends Content-Length, even for an empty body). A 2xx body goes to `sink`
// (may be null: discarded). Returns non-OK only for transport failures; HTTP errors are in
// response->status.
Status Perform(std::string_view method, const std::string& url, const sigv4::Headers& headers,
               const RequestBody& body, BodySink* sink, const httpclient::Options& options,
               HttpResponse* response);

}  // namespace sparkify::s3client::internal
