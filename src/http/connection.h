// One HTTP/1.1 connection's request loop (internal to the http library).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <boost/asio/generic/stream_protocol.hpp>

#include "http/http.h"

namespace sparkify::http::internal {

// What the watchdog knows of a live connection: when it must give up, and the socket to
// shut down then. Guarded by the server's registry mutex except for the atomics.
struct Watch {
  int fd = -1;
  std::atomic<int64_t> deadline_ms{INT64_MAX};  // steady-clock ms; INT64_MAX: none
  std::atomic<bool> timed_out{false};

  void ExpireIn(std::chrono::milliseconds d);
  void Clear() { deadline_ms.store(INT64_MAX); }
};

int64_t SteadyNowMs();

// A TCP or Unix stream socket.
using Socket = boost::asio::generic::stream_protocol::socket;

struct ConnectionContext {
  const ServerOptions* options;
  const Handler* handler;
  Watch* watch;
  std::string remote_ip;
  bool secure;
  const std::atomic<bool>* stopping;
};

// Serves requests on an accepted stream (plain tcp::socket or ssl::stream) until the client
// closes, an error occurs, or the server stops. Never throws.
template <class Stream>
void ServeConnection(Stream& stream, const ConnectionContext& ctx);

// The server's own error response in the configured format.
Response RenderError(const ServerOptions& options, int status, std::string_view code,
                     std::string_view message);

}  // namespace sparkify::http::internal
