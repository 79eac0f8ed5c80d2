// Outgoing HTTP, over libcurl, for every request the product makes: the S3 client's transport,
// the web app's calls to the function and to Spotify, the Lambda runtime client and the image
// fetcher are thin layers over Perform. libcurl's global state is initialised once, here.
//
// One exchange is blocking. It sends exactly the given headers (plus libcurl's Host, Accept,
// User-Agent when set, Content-Length for a body, and for a POST without a Content-Type
// "application/x-www-form-urlencoded"); it never follows redirects, sends no cookies, asks for
// no compression and, unless told otherwise, never goes through a proxy. A body is sent again
// from its start when a kept connection turns out to be closed.
//
// Errors of Perform (the transfer's, never the HTTP status, which is in Response::status):
//   - what a sink returned, or the connect check's first refusal, unchanged;
//   - Unavailable: cannot resolve or connect, the connection failed or was cut, TLS failed,
//     or "cancelled" (Options::cancel);
//   - DeadlineExceeded: a timeout (Response::connected tells connecting from the rest);
//   - ResourceExhausted: Content-Length over Options::max_content_length;
//   - IOError: reading the request body failed, and any other libcurl failure.
//
// Thread-safety: Perform may be called concurrently (each call has its own handle); a Session
// is used by one thread at a time.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sparkify::httpclient {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of header `name` (ASCII case-insensitive), or nullopt.
std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name);

// A request body: `file` (read from its current position, `size` bytes) when set, else
// `memory` (which must outlive the exchange).
struct Body {
  std::string_view memory;
  std::FILE* file = nullptr;
  uint64_t size = 0;
};

struct Request {
  std::string method = "GET";  // HEAD asks for no body; PUT sends Content-Length, even for 0
  std::string url;
  // Sent as given, in order; an empty value is sent as an empty header. A name or value with
  // CR, LF or NUL (or a name with ':') is InvalidArgument, before anything is sent.
  Headers headers;
  Body body;
};

// Addresses libcurl must use for `host`:`port` instead of resolving it (CURLOPT_RESOLVE).
struct Pin {
  std::string host;
  int port = 0;
  std::vector<std::string> addresses;  // IP literals; IPv6 in brackets ("[::1]")
};

struct Options {
  std::chrono::milliseconds connect_timeout{0};  // each connection attempt; 0: libcurl's 300 s
  std::chrono::milliseconds timeout{0};          // the whole exchange; 0: none
  bool verify_tls = true;
  std::string ca_file;     // empty: the system's CA bundle
  std::string user_agent;  // empty: no User-Agent header
  // Connects to this Unix socket instead of the URL's host (which is then only the Host
  // header). Empty: TCP.
  std::string unix_socket;
  // Honours http_proxy, https_proxy and no_proxy from the environment. Default: no proxy.
  bool environment_proxy = false;
  // Sends "/./" and "/../" in the URL's path unchanged instead of squashing them.
  bool path_as_is = false;
  // A response whose Content-Length is larger fails before its body. 0: no limit.
  uint64_t max_content_length = 0;
  // Pins and the connect check are for Perform only: a Session refuses them (libcurl keeps
  // pins in the handle, and a kept connection is not checked again).
  std::vector<Pin> pins;
  // Called before every TCP connection with the address about to be connected to (after
  // resolution or a pin); a non-OK status refuses the connection, and Perform returns the
  // first refusal even when another address then connects.
  std::function<Status(const sockaddr* address)> check_connect;
  // When set and it becomes true, the exchange stops within about a second and Perform
  // returns Unavailable "cancelled". Must outlive the exchange.
  const std::atomic<bool>* cancel = nullptr;
};

struct Response {
  long status = 0;
  Headers headers;  // of the final response (not of a 100 Continue), names as received
  // A TCP connection was made. A timeout without one was a connect timeout.
  bool connected = false;
  // For a 3xx with a Location header: that location, resolved against the request's URL.
  // Filled when the exchange is over (a sink's OnHead does not see it).
  std::string redirect_url;

  std::optional<std::string_view> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

// Receives a response as it arrives. A non-OK status from either call stops the transfer, and
// Perform returns that status.
class Sink {
 public:
  virtual ~Sink() = default;
  // Once per exchange, with the final response's status and headers: before its first body
  // byte, or after a transfer that had no body.
  virtual Status OnHead(const Response& head);
  virtual Status OnBody(std::string_view data) = 0;
};

// Keeps the body in a string, up to `cap` bytes; more is ResourceExhausted "<what> is larger
// than the <cap>-byte limit".
class StringSink : public Sink {
 public:
  StringSink(std::string* out, uint64_t cap, std::string what = "the answer")
      : out_(out), cap_(cap), what_(std::move(what)) {}
  Status OnBody(std::string_view data) override;

 private:
  std::string* out_;
  uint64_t cap_;
  std::string what_;
};

// Appends the body to an open file; a failed write is IOError.
class FileSink : public Sink {
 public:
  explicit FileSink(std::FILE* file) : file_(file) {}
  Status OnBody(std::string_view data) override;

 private:
  std::FILE* file_;
};

// One exchange on a fresh connection. `sink` may be null: the body is discarded.
Status Perform(const Request& request, const Options& options, Sink* sink, Response* response);

// Exchanges that reuse one connection (keep-alive) while the server keeps it open.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Status Perform(const Request& request, const Options& options, Sink* sink, Response* response);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

}  // namespace sparkify::httpclient
