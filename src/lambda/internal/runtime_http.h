// A minimal blocking HTTP/1.1 client for the Runtime API, over the product's one HTTP client
// (httpclient.h) (internal).
//
// One keep-alive connection to one endpoint, never through a proxy. Not thread-safe: one per
// loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "httpclient/httpclient.h"

namespace sparkify::lambda::internal {

struct HttpReply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

class RuntimeHttp {
 public:
  // `endpoint` is "host:port", or "unix:/path/to/socket" for a Unix socket (the emulator's
  // private channel to its workers); `connect_timeout` bounds every connection attempt.
  RuntimeHttp(std::string endpoint, std::chrono::milliseconds connect_timeout);
  ~RuntimeHttp();
  RuntimeHttp(const RuntimeHttp&) = delete;
  RuntimeHttp& operator=(const RuntimeHttp&) = delete;

  // `timeout` zero means none. A reply body over `max_body` bytes is ResourceExhausted.
  // Errors: Unavailable (cannot connect, connection lost), DeadlineExceeded (timeout),
  // ResourceExhausted, IOError or Internal (other libcurl failures).
  Result<HttpReply> Get(const std::string& path, std::chrono::milliseconds timeout,
                        size_t max_body);
  Result<HttpReply> Post(const std::string& path, std::string_view body,
                         const httpclient::Headers& headers, std::chrono::milliseconds timeout);

 private:
  Result<HttpReply> Perform(httpclient::Request request, std::chrono::milliseconds timeout,
                            size_t max_body);

  std::string base_;  // "http://host:port/2018-06-01"
  httpclient::Options options_;
  httpclient::Session session_;
};

}  // namespace sparkify::lambda::internal
