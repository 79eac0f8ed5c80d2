// Private: one blocking HTTP exchange over libcurl. Thread-safe: each call uses its own easy
// handle; libcurl's global state is initialised once.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sigv4/sigv4.h"

namespace sparkify::s3client::internal {

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{0};  // 0: libcurl's default
  std::chrono::milliseconds request_timeout{0};  // 0: none
  bool verify_tls = true;
  std::string ca_file;
  std::string user_agent;
};

// The request body: `file` (read from its current position) when set, else `memory`.
struct RequestBody {
  std::string_view memory;
  std::FILE* file = nullptr;
  uint64_t size = 0;  // bytes to send from `file`
};

// Receives the body of a 2xx response. Write returns false to abort the transfer; status()
// then says why.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual bool Write(std::string_view data) = 0;
  virtual Status status() const = 0;
};

// Collects up to `cap` bytes in memory.
class MemorySink : public BodySink {
 public:
  MemorySink(std::string* out, uint64_t cap) : out_(out), cap_(cap) {}
  bool Write(std::string_view data) override;
  Status status() const override;

 private:
  std::string* out_;
  uint64_t cap_;
  bool overflow_ = false;
};

// Appends to an open file.
class FileSink : public BodySink {
 public:
  explicit FileSink(std::FILE* file) : file_(file) {}
  bool Write(std::string_view data) override;
  Status status() const override;

 private:
  std::FILE* file_;
  bool failed_ = false;
};

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
               const RequestBody& body, BodySink* sink, const TransportOptions& options,
               HttpResponse* response);

}  // namespace sparkify::s3client::internal
