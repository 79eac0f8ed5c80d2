#include "http/connection.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "common/clock.h"

namespace sparkify::http::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Parser = bhttp::request_parser<bhttp::buffer_body>;

constexpr size_t kMaxDrainBytes = 1 << 20;

template <class Stream>
int NativeFd(Stream& stream) {
  if constexpr (std::is_same_v<Stream, Socket>) {
    return stream.native_handle();
  } else {
    return stream.next_layer().native_handle();
  }
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Reads the body of the request being parsed, in pieces, on demand.
template <class Stream>
class ParserBody : public BodySource {
 public:
  ParserBody(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
             const ConnectionContext& ctx, bool expect_continue)
      : stream_(stream), buffer_(buffer), parser_(parser), ctx_(ctx),
        expect_continue_(expect_continue) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (parser_.is_done() || n == 0) return size_t{0};
    if (expect_continue_ && !sent_continue_) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::error_code ec;
      ctx_.watch->ExpireIn(ctx_.options->io_timeout);
      asio::write(stream_, asio::buffer(kContinue.data(), kContinue.size()), ec);
      sent_continue_ = true;
      if (ec) return Failure(ec);
    }
    for (;;) {
      parser_.get().body().data = buf;
      parser_.get().body().size = n;
      ctx_.watch->ExpireIn(ctx_.options->io_timeout);
      beast::error_code ec;
      bhttp::read_some(stream_, buffer_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      size_t got = n - parser_.get().body().size;
      if (ec) return Failure(ec);
      if (got > 0 || parser_.is_done()) return got;
    }
  }

  bool needs_close() const { return expect_continue_ && !sent_continue_; }
  bool failed() const { return failed_; }

 private:
  Status Failure(const beast::error_code& ec) {
    failed_ = true;
    if (ctx_.watch->timed_out) return Status::DeadlineExceeded("client sent the body too slowly");
    if (ec == bhttp::error::body_limit) return Status::ResourceExhausted("body too large");
    if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) {
      return Status::InvalidArgument("malformed chunked encoding");
    }
    return Status::IOError("connection lost while reading the body: " + ec.message());
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  const ConnectionContext& ctx_;
  bool expect_continue_;
  bool sent_continue_ = false;
  bool failed_ = false;
};

std::string SerializeHead(const Response& res, const ServerOptions& options, uint64_t length,
                          bool keep_alive, bool chunked = false) {
  std::string out;
  out.reserve(256 + res.headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [name, value] : res.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Date: " + FormatHttpDate(Clock::System().Now()) + "\r\n";
  out += "Server: " + options.server_name + "\r\n";
  bool no_body_status = res.status == 204 || res.status == 304 || res.status < 200;
  if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!no_body_status) {
    out += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

template <class Stream>
bool SendFile(Stream& stream, const FileRange& file, const ConnectionContext& ctx) {
  uint64_t sent = 0;
  if constexpr (std::is_same_v<Stream, Socket>) {
    int sock = stream.native_handle();
    while (sent < file.length) {
      ctx.watch->ExpireIn(ctx.options->io_timeout);
      off_t off = static_cast<off_t>(file.offset + sent);
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(file.length - sent, 1 << 20));
      ssize_t n = ::sendfile(sock, file.fd, &off, chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<uint64_t>(n);
    }
  } else {
    std::vector<char> buf(256 * 1024);
    while (sent < file.length) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(file.length - sent, buf.size()));
      ssize_t n = ::pread(file.fd, buf.data(), chunk, static_cast<off_t>(file.offset + sent));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      ctx.watch->ExpireIn(ctx.options->io_timeout);
      beast::error_code ec;
      asio::write(stream, asio::buffer(buf.data(), static_cast<size_t>(n)), ec);
      if (ec) return false;
      sent += static_cast<uint64_t>(n);
    }
  }
  return true;
}

// A Response::stream body: the head, then each piece as one chunk, then the last chunk.
template <class Stream>
bool WriteStreamed(Stream& stream, Response& res, const ConnectionContext& ctx) {
  std::string head = SerializeHead(res, *ctx.options, 0, false, true);
  ctx.watch->ExpireIn(ctx.options->io_timeout);
  beast::error_code ec;
  asio::write(stream, asio::buffer(head), ec);
  if (ec) return false;
  bool alive = true;
  auto write = [&](std::string_view piece) {
    if (!alive || ctx.stopping->load()) return false;
    if (piece.empty()) return true;  // an empty chunk would end the body
    char size[24];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    std::string chunk(size, static_cast<size_t>(n));
    chunk.append(piece);
    chunk += "\r\n";
    ctx.watch->ExpireIn(ctx.options->io_timeout);
    asio::write(stream, asio::buffer(chunk), ec);
    alive = !ec;
    return alive;
  };
  res.stream(write);
  if (!alive) return false;
  ctx.watch->ExpireIn(ctx.options->io_timeout);
  asio::write(stream, asio::buffer(std::string_view("0\r\n\r\n")), ec);
  return !ec;
}

template <class Stream>
bool WriteResponse(Stream& stream, Response& res, bool head_only, bool keep_alive,
                   const ConnectionContext& ctx) {
  if (res.stream && !head_only) return WriteStreamed(stream, res, ctx);
  uint64_t length = res.file ? res.file->length : res.body.size();
  if (res.head_content_length) length = *res.head_content_length;
  std::string out = SerializeHead(res, *ctx.options, length, keep_alive);
  bool send_body = !head_only && !res.head_content_length;
  if (send_body && !res.file) out += res.body;
  ctx.watch->ExpireIn(ctx.options->io_timeout);
  beast::error_code ec;
  asio::write(stream, asio::buffer(out), ec);
  if (ec) return false;
  if (send_body && res.file) return SendFile(stream, *res.file, ctx);
  return true;
}

Request BuildRequest(const Parser& parser, const ConnectionContext& ctx) {
  const auto& msg = parser.get();
  Request req;
  auto method = msg.method_string();
  req.method.assign(method.data(), method.size());
  auto target = msg.target();
  req.target.assign(target.data(), target.size());
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& field : msg) {
    auto name = field.name_string();
    auto value = field.value();
    req.headers.emplace_back(ToLower(std::string_view(name.data(), name.size())),
                             std::string(value.data(), value.size()));
  }
  req.remote_ip = ctx.remote_ip;
  req.secure = ctx.secure;
  if (auto len = parser.content_length()) req.content_length = *len;
  req.chunked = parser.chunked();
  return req;
}

// A header that could end the head early or start another (CR, LF, NUL in a value, anything
// but a token as a name) never reaches the wire: whoever put it there (a handler copying a
// client's input) gets a 500 in the protocol's own format instead.
void RefuseInvalidHeaders(Response& res, const ServerOptions& options) {
  for (const auto& [name, value] : res.headers) {
    if (IsValidFieldName(name) && IsValidFieldValue(value)) continue;
    res = RenderError(options, 500, "InternalError",
                      "The server refused to send a response header it found invalid.");
    res.close = true;
    return;
  }
}

// After a response that closes the connection: stop sending, let the client read what we
// sent before the socket goes away (an immediate close could reset it).
template <class Stream>
void GracefulClose(Stream& stream, const ConnectionContext& ctx) {
  int fd = NativeFd(stream);
  if constexpr (!std::is_same_v<Stream, Socket>) {
    beast::error_code ec;
    ctx.watch->ExpireIn(std::chrono::seconds(2));
    stream.shutdown(ec);
  }
  ::shutdown(fd, SHUT_WR);
  ctx.watch->ExpireIn(std::chrono::seconds(2));
  char sink[4096];
  size_t drained = 0;
  while (drained < kMaxDrainBytes) {
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Watch::ExpireIn(std::chrono::milliseconds d) {
  deadline_ms.store(SteadyNowMs() + d.count());
}

Response RenderError(const ServerOptions& options, int status, std::string_view code,
                     std::string_view message) {
  if (options.render_error) return options.render_error(status, code, message);
  Response res;
  res.status = status;
  res.Set("Content-Type", "text/plain; charset=utf-8");
  res.body = std::string(code) + ": " + std::string(message) + "\n";
  return res;
}

template <class Stream>
void ServeConnection(Stream& stream, const ConnectionContext& ctx) {
  // Beast sizes each read by the buffer's free capacity, at least 512 bytes: start with room
  // for 64 KiB so a large body arrives in few reads, not in 512-byte pieces.
  beast::flat_buffer buffer;
  buffer.reserve(64 * 1024);
  for (;;) {
    if (ctx.stopping->load()) return;
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(ctx.options->max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    ctx.watch->ExpireIn(ctx.options->header_timeout);
    beast::error_code ec;
    bhttp::read_header(stream, buffer, parser, ec);
    if (ec == bhttp::error::end_of_stream || ctx.watch->timed_out) return;
    if (ec) {
      if (ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated) {
        return;  // the client went away between requests
      }
      bool too_big = ec == bhttp::error::header_limit;
      Response res = RenderError(*ctx.options, too_big ? 431 : 400,
                                 too_big ? "RequestHeaderSectionTooLarge" : "BadRequest",
                                 too_big ? "The request line and headers are too large."
                                         : "The request is not valid HTTP/1.1: " + ec.message());
      WriteResponse(stream, res, false, false, ctx);
      GracefulClose(stream, ctx);
      return;
    }

    Request req = BuildRequest(parser, ctx);
    auto expect = req.Header("expect");
    bool expect_continue = expect && IEquals(*expect, "100-continue");
    ParserBody<Stream> body(stream, buffer, parser, ctx, expect_continue);
    req.body = &body;

    Response res;
    try {
      res = (*ctx.handler)(req);
    } catch (const std::exception& e) {
      res = RenderError(*ctx.options, 500, "InternalError", "internal error");
    } catch (...) {
      res = RenderError(*ctx.options, 500, "InternalError", "internal error");
    }
    ctx.watch->Clear();
    RefuseInvalidHeaders(res, *ctx.options);

    // A body the handler did not read is skipped when it is already in our buffer; otherwise
    // the response goes out first and the connection closes (GracefulClose discards what the
    // client still sends), so a client waiting to send its body still gets its answer.
    bool keep_alive = parser.get().keep_alive() && !res.close && !res.stream && !body.failed() &&
                      !ctx.stopping->load();
    if (keep_alive && !parser.is_done()) {
      auto remaining = parser.content_length_remaining();
      if (!body.needs_close() && remaining && *remaining <= buffer.size()) {
        char sink[16 * 1024];
        while (!parser.is_done()) {
          auto n = body.Read(sink, sizeof sink);
          if (!n.ok()) break;
        }
      }
      keep_alive = parser.is_done();
    }
    bool head_only = req.method == "HEAD";
    if (!WriteResponse(stream, res, head_only, keep_alive, ctx)) return;
    if (!keep_alive) {
      GracefulClose(stream, ctx);
      return;
    }
  }
}

template void ServeConnection<Socket>(Socket&, const ConnectionContext&);
template void ServeConnection<asio::ssl::stream<Socket>>(asio::ssl::stream<Socket>&,
                                                         const ConnectionContext&);

}  // namespace sparkify::http::internal
