// One HTTP/1.1 connection (internal to the http library): the reactor side (waiting, reading
// heads, writing responses, closing) and the worker side (running the handler, which reads
// the body) of its request loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/http.h"

namespace sparkify::http::internal {

int64_t SteadyNowMs();

// Where a connection is in its request loop; the server sheds idle ones first, then those
// still sending a head.
enum class Phase {
  kHead,  // receiving a request head (or, new, the TLS handshake and first head)
  kIdle,  // keep-alive, waiting for the next request
  kBusy,  // a request is being handled or answered
};

// What the server knows of a live connection. The watchdog shuts the socket down once the
// deadline passes, which fails whatever operation is pending on it. `leaving` and `it` are
// guarded by the server's registry mutex; the rest are atomics or fixed. `phase` and
// `since_ms` are set without the lock (at every request), so a reader may see one updated
// before the other: good enough to choose whom to shed.
struct Watch {
  int fd = -1;
  std::string ip;  // empty on a Unix socket
  std::atomic<Phase> phase{Phase::kHead};
  std::atomic<int64_t> since_ms{0};  // when the phase began
  bool leaving = false;              // shed or timed out: no longer counted against the limits
  std::atomic<int64_t> deadline_ms{INT64_MAX};  // steady-clock ms; INT64_MAX: none
  std::atomic<bool> timed_out{false};
  std::list<Watch>::iterator it;  // its place in the server's registry

  void ExpireIn(std::chrono::milliseconds d);
  void Clear() { deadline_ms.store(INT64_MAX); }
};

// A TCP or Unix stream socket.
using Socket = boost::asio::generic::stream_protocol::socket;

// The server, as its connections see it.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  // Runs `work` on a worker thread (in arrival order once all are busy).
  virtual void RunOnWorker(std::function<void()> work) = 0;
  // True while work waits for a free worker (a worker then does not linger on its client).
  virtual bool WorkIsWaiting() const = 0;
  // Records the connection's phase and arms its deadline (none when `deadline` is zero).
  virtual void EnterPhase(Watch& watch, Phase phase, std::chrono::milliseconds deadline) = 0;
  // The connection is over: closes the socket (under the registry lock, so the fd number is
  // not reused while the watchdog could still shut it down) and forgets the watch.
  virtual void Closed(Watch& watch, Socket& socket) = 0;
  // Closes a descriptor no socket holds any more (under the registry lock); the watch then
  // names no descriptor.
  virtual void CloseLost(Watch& watch, int fd) = 0;
};

struct ConnectionContext {
  const ServerOptions* options;
  const Handler* handler;
  ConnectionHost* host;
  Watch* watch;
  bool secure;
  const std::atomic<bool>* stopping;
  // An io_context that never runs: plain sockets live in it while a worker has them.
  boost::asio::io_context* dormant;
};

// Serves an accepted connection until the client closes, an error or a deadline ends it, or
// the server stops; it keeps itself alive meanwhile and calls host->Closed at the end. Runs
// on the reactor thread; `tls` null: plain. Never throws.
void StartConnection(Socket socket, boost::asio::ssl::context* tls, ConnectionContext ctx);

// The server's own error response in the configured format.
Response RenderError(const ServerOptions& options, int status, std::string_view code,
                     std::string_view message);

}  // namespace sparkify::http::internal
