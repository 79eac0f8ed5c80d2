// Internal: one blocking HTTP exchange for the web backend's outgoing calls to the function's
// invoke API and to Spotify, over the product's one HTTP client (httpclient.h). No proxy, no
// redirects followed, no cookies. Thread-safe: each call uses its own connection.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sparkify::web::internal {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct HttpCall {
  std::string method = "GET";
  std::string url;
  HeaderPairs headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};
  size_t max_response_bytes = 8u << 20;
  // When set and true, the exchange is abandoned (Cancelled as Unavailable "cancelled").
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpReply {
  long status = 0;
  HeaderPairs headers;  // names lowercased
  std::string body;
  // First value of a header (lowercase name), or "".
  std::string Header(const std::string& lower_name) const;
};

// Non-OK only for transport failures: Unavailable (cannot connect or resolve),
// DeadlineExceeded (timeout), ResourceExhausted (answer too large), IOError (other).
Result<HttpReply> Perform(const HttpCall& call);

}  // namespace sparkify::web::internal
