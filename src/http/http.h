// A small HTTP/1.1 server (plain or TLS) for Sparkify's services.
//
// Connections cost no thread while they wait: one reactor thread (Boost.Asio) accepts them,
// does the TLS handshake, waits on idle keep-alive connections, reads each request head and
// writes each response. Only a request whose head is complete reaches a worker thread, where
// the handler runs and pulls the body when (and if) it wants it, which is when "100 Continue"
// is sent. A worker writes a small answer itself, and handles the same client's next request
// itself if its head arrives within 20 ms (a keep-alive client in a hurry costs no trip
// through the reactor). A few hundred slow or idle clients therefore hold sockets, not
// threads, and:
// - the request head must arrive within header_timeout of its first byte (or of accept);
// - one client address may hold at most max_connections_per_ip connections;
// - at a limit, the longest-idle keep-alive connection is shed first, then the connection
//   that has been sending its head the longest; only if there is neither is the newcomer
//   answered 503.
// Handlers return a Response whose body is a string, a range of an open file (sent with
// sendfile on plain connections), or a stream (which holds its worker while it runs).
//
// Server is thread-safe: Start() returns a running server, Stop() (or the destructor)
// stops accepting, closes connections and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sparkify::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Reads a request body. Implemented by the connection.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Reads up to n bytes; 0 means the body is complete. Errors: DeadlineExceeded (client too
  // slow), InvalidArgument (bad chunked framing), ResourceExhausted (body over the limit),
  // IOError (connection lost).
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

struct Request {
  std::string method;       // "GET"
  std::string target;       // raw request-target, "/bucket/a%20b?list-type=2"
  std::string path;         // raw path, still percent-encoded
  std::string query;        // raw query, without '?'
  HeaderList headers;       // names lowercased, values as sent, in order
  std::string remote_ip;    // "127.0.0.1" or "::1"; empty on a Unix socket
  bool secure = false;      // arrived over TLS
  std::optional<uint64_t> content_length;
  bool chunked = false;     // Transfer-Encoding: chunked
  BodySource* body = nullptr;  // never null inside a handler

  // First value of a header (name lowercase), or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // Reads the whole body into a string; ResourceExhausted past max_bytes.
  Result<std::string> ReadAll(size_t max_bytes);
};

// A response body that is a range of an open file; `owner` keeps the fd open while sending.
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::shared_ptr<void> owner;
  // When set, the bytes come from here instead of `fd` (data that is not on disk as sent,
  // such as an object encrypted at rest): read(position in the range, buf, n) returns how
  // many bytes it put in buf (> 0), or <= 0 on a failure, which cuts the connection (the
  // head has gone out). Called from one thread at a time, a worker's or the reactor's: keep
  // it short (it holds the reactor for as long as it takes).
  std::function<int64_t(uint64_t position, char* buf, size_t n)> read;
};

struct Response {
  int status = 200;
  HeaderList headers;  // Content-Length, Date, Server and Connection are added by the server
  std::string body;
  std::optional<FileRange> file;  // when set, sent instead of `body`
  // For HEAD: the Content-Length to announce without sending a body.
  std::optional<uint64_t> head_content_length;
  bool close = false;  // close the connection after this response
  // When set, the body is produced by this function after the head has been sent: chunked
  // (Transfer-Encoding: chunked, no Content-Length; `body` and `file` are ignored), and the
  // connection closes after it. For server-sent events. `write` sends one piece at once and
  // returns false once the client is gone or the server stops (return soon then). Runs on
  // a worker thread, which it holds until it returns; not called for HEAD.
  std::function<void(const std::function<bool(std::string_view)>& write)> stream;

  Response& Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// RFC 9110 field syntax. A name is a non-empty token; a value has no control character but
// horizontal tab (so never CR, LF or NUL: nothing in it can end the header or start another).
// The server refuses to send a response whose headers fail these: it answers 500 instead.
bool IsValidFieldName(std::string_view name);
bool IsValidFieldValue(std::string_view value);

// Must not throw (the server catches anything that escapes and answers 500, but the
// protocol layer above is expected to render its own errors).
using Handler = std::function<Response(Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback by default
  uint16_t port = 0;               // 0: pick a free port (see Server::port())
  // When set, listen on a Unix stream socket at this path instead of host:port (port() is 0
  // then). The path must not exist; Stop() removes it. Anyone who may enter its directory
  // may connect: put it in a private (0700) directory. Requests carry an empty remote_ip.
  std::string unix_socket_path;
  std::string tls_cert_file;       // PEM; both set: serve HTTPS only
  std::string tls_key_file;
  size_t max_header_bytes = 16 * 1024;  // request line + headers
  // Open connections in all. Waiting ones cost a socket and a few KiB, no thread. Raised to
  // what the process's open-file limit allows if that is lower.
  int max_connections = 4096;
  int max_connections_per_ip = 128;  // per client address; 0: no cap (Unix sockets: none)
  // Requests whose handler runs at once (worker threads, started as needed); further
  // complete requests wait in arrival order for a free worker.
  int max_active_requests = 256;
  // The request head (request line and headers) must arrive within this of its first byte;
  // on a new connection, within this of accept (TLS handshake included).
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // A body read or response write that makes no progress for this long closes the connection.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(60)};
  std::string server_name = "sparkify";
  // Renders the server's own errors (malformed request, header too large, too many
  // connections) in the protocol's format. Default: plain text.
  std::function<Response(int status, std::string_view code, std::string_view message)>
      render_error;
};

class Server {
 public:
  // Binds, listens and starts serving on background threads. Errors: Unavailable (address in
  // use), InvalidArgument (bad host or TLS files).
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler handler);
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  virtual int active_connections() const = 0;  // open connections, idle ones included
  // Stops accepting, closes every connection, joins all threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace sparkify::http
