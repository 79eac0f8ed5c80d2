#include "http/internal/connection.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "common/strings.h"

namespace sparkify::http::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Parser = bhttp::request_parser<bhttp::buffer_body>;

constexpr size_t kMaxDrainBytes = 1 << 20;

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
    req.headers.emplace_back(AsciiLowerString(std::string_view(name.data(), name.size())),
                             std::string(value.data(), value.size()));
  }
  req.remote_ip = ctx.watch->ip;
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

// A connection's whole life. The reactor thread runs the asynchronous steps; a request's
// handler runs on a worker, handed over with RunOnWorker. The worker then starts the answer
// itself (plain) or posts it back (TLS). Either way exactly one thread touches the connection
// at any time: each step ends by starting an asynchronous operation, and only that
// operation's completion handler touches the connection next.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  Connection(Stream stream, ConnectionContext ctx)
      : stream_(std::move(stream)), ctx_(std::move(ctx)), worker_sock_(*ctx_.dormant) {}

  ~Connection() {
    if constexpr (!kTls) {
      if (on_worker_) {
        ctx_.host->Closed(*ctx_.watch, worker_sock_);
        return;
      }
    }
    ctx_.host->Closed(*ctx_.watch, LowestLayer());
  }

  void Start() {
    if (Over()) return;
    if constexpr (!kTls) {
      beast::error_code ec;
      auto local = stream_.local_endpoint(ec);
      if (!ec) protocol_ = local.protocol();
      stream_.native_non_blocking(true, ec);  // sendfile and the linger never block
    }
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const beast::error_code& ec) {
                                if (!ec) self->ReadHead();
                              });
    } else {
      ReadHead();
    }
  }

 private:
  const ServerOptions& options() const { return *ctx_.options; }
  Socket& LowestLayer() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  bool Over() const { return ctx_.stopping->load() || ctx_.watch->timed_out.load(); }

  // A plain socket's descriptor moves off the reactor while a worker has the connection
  // (Socket::release and assign): registered with the reactor, every request a worker reads
  // itself would also wake the reactor thread for nothing. The worker's socket belongs to an
  // io_context that never runs, so only synchronous operations are used on it.
  Stream& Active() {
    if constexpr (kTls) {
      return stream_;
    } else {
      return on_worker_ ? worker_sock_ : stream_;
    }
  }
  void ToWorkerSocket() {
    if constexpr (!kTls) {
      if (!on_worker_ && protocol_ && MoveDescriptor(stream_, worker_sock_)) on_worker_ = true;
    }
  }
  // Before any asynchronous operation. If the reactor cannot take the descriptor back, the
  // operation fails at once on the closed stream_, which ends the connection.
  void ToReactorSocket() {
    if constexpr (!kTls) {
      if (on_worker_ && MoveDescriptor(worker_sock_, stream_)) on_worker_ = false;
    }
  }
  // False if `to` cannot take it (epoll_ctl failing): it goes back to `from` then, and if
  // even that fails the descriptor is closed (both sockets closed: every operation fails).
  bool MoveDescriptor(Socket& from, Socket& to) {
    beast::error_code ec;
    int fd = from.release(ec);
    if (ec) return false;
    to.assign(*protocol_, fd, ec);
    if (!ec) return true;
    from.assign(*protocol_, fd, ec);
    if (ec) ctx_.host->CloseLost(*ctx_.watch, fd);
    return false;
  }

  // Between requests. A plain connection waits for its first byte without a parser (idle,
  // shed first), then gets header_timeout for the head. Under TLS the socket cannot tell
  // whether a record is already buffered, so the whole wait is one idle phase.
  void AwaitNextRequest() {
    if (buffer_.size() > 0) {  // pipelined: the next head has begun
      ctx_.host->EnterPhase(*ctx_.watch, Phase::kHead, options().header_timeout);
      ReadHead();
      return;
    }
    buffer_.shrink_to_fit();  // an idle connection keeps no 64 KiB buffer
    ctx_.host->EnterPhase(*ctx_.watch, Phase::kIdle, options().idle_timeout);
    if constexpr (kTls) {
      ReadHead();
    } else {
      stream_.async_wait(Socket::wait_read,
                         [self = this->shared_from_this()](const beast::error_code& ec) {
                           if (ec || self->Over()) return;
                           self->ctx_.host->EnterPhase(*self->ctx_.watch, Phase::kHead,
                                                       self->options().header_timeout);
                           self->ReadHead();
                         });
    }
  }

  void ReadHead() {
    if (Over()) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](const beast::error_code& ec,
                                                               size_t) { self->OnHead(ec); });
  }

  void OnHead(const beast::error_code& ec) {
    if (Over()) return;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
          ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated) {
        return;  // the client went away between requests
      }
      bool too_big = ec == bhttp::error::header_limit;
      res_ = RenderError(options(), too_big ? 431 : 400,
                         too_big ? "RequestHeaderSectionTooLarge" : "BadRequest",
                         too_big ? "The request line and headers are too large."
                                 : "The request is not valid HTTP/1.1: " + ec.message());
      head_only_ = false;
      keep_alive_ = false;
      ctx_.host->EnterPhase(*ctx_.watch, Phase::kBusy, std::chrono::milliseconds(0));
      WriteResponse();
      return;
    }
    // The handler's time is not the client's: no deadline until it reads or we write.
    ctx_.host->EnterPhase(*ctx_.watch, Phase::kBusy, std::chrono::milliseconds(0));
    ToWorkerSocket();
    ctx_.host->RunOnWorker([self = this->shared_from_this()] { self->Handle(); });
  }

  // On a worker: the handler, and what must happen to its body before the answer.
  // On a worker: the handler, its answer and, on a plain socket whose client sends its next
  // request at once (a keep-alive client in a hurry), that request too, without a trip
  // through the reactor.
  void Handle() {
    for (;;) {
      if (ctx_.stopping->load()) return;
      RunHandler();
      if (res_.stream && !head_only_) {
        // A stream holds its worker while it runs; the connection closes after it.
        if (!WriteStreamed(Active(), res_, ctx_)) return;
        res_ = Response();
        ToReactorSocket();
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
        return;
      }
      if constexpr (kTls) {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this()] { self->WriteResponse(); });
        return;
      } else {
        PrepareAnswer();
        if (!SendWhatFits()) return;  // the rest goes out from the reactor
        res_ = Response();
        ReleaseFileBuffer();  // an idle keep-alive connection holds no 256 KiB buffer
        if (!keep_alive_ || Over()) {
          ToReactorSocket();
          Close();
          return;
        }
        if (!NextHeadArrivedSoon()) {
          ToReactorSocket();
          AwaitNextRequest();
          return;
        }
        ctx_.host->EnterPhase(*ctx_.watch, Phase::kBusy, std::chrono::milliseconds(0));
      }
    }
  }

  void RunHandler() {
    buffer_.reserve(64 * 1024);  // a large body arrives in few reads, not 512-byte pieces
    Request req = BuildRequest(*parser_, ctx_);
    auto expect = req.Header("expect");
    bool expect_continue = expect && EqualsIgnoreCase(*expect, "100-continue");
    ParserBody<Stream> body(Active(), buffer_, *parser_, ctx_, expect_continue);
    req.body = &body;
    try {
      res_ = (*ctx_.handler)(req);
    } catch (...) {
      res_ = RenderError(options(), 500, "InternalError", "internal error");
    }
    ctx_.watch->Clear();
    RefuseInvalidHeaders(res_, options());

    // A body the handler did not read is skipped when it is already in our buffer; otherwise
    // the response goes out first and the connection closes (the graceful close discards what
    // the client still sends), so a client waiting to send its body still gets its answer.
    keep_alive_ = parser_->get().keep_alive() && !res_.close && !res_.stream && !body.failed() &&
                  !ctx_.stopping->load();
    if (keep_alive_ && !parser_->is_done()) {
      auto remaining = parser_->content_length_remaining();
      if (!body.needs_close() && remaining && *remaining <= buffer_.size()) {
        char sink[16 * 1024];
        while (!parser_->is_done()) {
          auto n = body.Read(sink, sizeof sink);
          if (!n.ok()) break;
        }
      }
      keep_alive_ = parser_->is_done();
    }
    head_only_ = req.method == "HEAD";
  }

  // The answer's head (and string body) in out_; send_file_ when a file range follows.
  void PrepareAnswer() {
    uint64_t length = res_.file ? res_.file->length : res_.body.size();
    if (res_.head_content_length) length = *res_.head_content_length;
    out_ = SerializeHead(res_, options(), length, keep_alive_);
    send_file_ = !head_only_ && !res_.head_content_length && res_.file.has_value();
    if (!head_only_ && !res_.head_content_length && !res_.file) out_ += res_.body;
    res_.body.clear();
  }

  // Plain socket, on the worker: sends what the socket takes without waiting. True when the
  // whole answer went out; otherwise the rest continues asynchronously (ending in Finish)
  // or, if the client is gone, the connection ends.
  bool SendWhatFits() {
    int fd = Active().native_handle();
    size_t done = 0;
    while (done < out_.size()) {
      ssize_t n = ::send(fd, out_.data() + done, out_.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return false;  // the client is gone
      done += static_cast<size_t>(n);
    }
    ctx_.watch->ExpireIn(options().io_timeout);
    if (done < out_.size()) {
      ToReactorSocket();
      asio::async_write(stream_, asio::buffer(out_.data() + done, out_.size() - done),
                        [self = this->shared_from_this()](const beast::error_code& ec, size_t) {
                          if (ec || self->Over()) return;
                          self->AfterHead();
                        });
      return false;
    }
    out_.clear();
    if (!send_file_) return true;
    StartFile();
    switch (SendFileWhileItFits(fd)) {
      case FileSend::kDone:
        return true;
      case FileSend::kFull:
        ToReactorSocket();
        SendFileChunk();  // waits for room on the reactor
        return false;
      case FileSend::kFailed:
        return false;
    }
    return false;
  }

  void ReleaseFileBuffer() {
    file_buf_.clear();
    file_buf_.shrink_to_fit();
    file_pos_ = 0;
  }

  void StartFile() {
    sent_ = 0;
    file_pos_ = 0;
    file_buf_.clear();
  }

  enum class FileSend { kDone, kFull, kFailed };
  // Plain socket: sendfile of the rest of the range until it is sent or the socket is full.
  // kFailed: the file shrank under us or the client left (just close).
  FileSend SendFileWhileItFits(int fd) {
    const FileRange& file = *res_.file;
    if (file.read) return SendReadWhileItFits(fd);
    while (sent_ < file.length) {
      off_t off = static_cast<off_t>(file.offset + sent_);
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(file.length - sent_, 1 << 20));
      ssize_t n = ::sendfile(fd, file.fd, &off, chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return FileSend::kFull;
      if (n <= 0) return FileSend::kFailed;
      sent_ += static_cast<uint64_t>(n);
    }
    return FileSend::kDone;
  }

  // The same for a range that is read (FileRange::read) rather than sent from its file:
  // file_buf_[file_pos_..] holds what was read and not yet sent. At most kReadPerTurn per
  // call (then kFull: the reactor waits for room and comes back), so that reading, which may
  // decrypt, does not hold the reactor for a whole large object while other clients wait.
  FileSend SendReadWhileItFits(int fd) {
    constexpr uint64_t kReadPerTurn = 4u << 20;
    const FileRange& file = *res_.file;
    const uint64_t turn_end = sent_ + kReadPerTurn;
    while (sent_ < file.length) {
      if (sent_ >= turn_end) return FileSend::kFull;
      if (file_pos_ == file_buf_.size()) {
        file_pos_ = 0;
        file_buf_.resize(static_cast<size_t>(std::min<uint64_t>(file.length - sent_, kReadChunk)));
        int64_t n = ReadRange(sent_, file_buf_.data(), file_buf_.size());
        if (n <= 0 || static_cast<uint64_t>(n) > file_buf_.size()) return FileSend::kFailed;
        file_buf_.resize(static_cast<size_t>(n));
      }
      ssize_t n = ::send(fd, file_buf_.data() + file_pos_, file_buf_.size() - file_pos_,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return FileSend::kFull;
      if (n <= 0) return FileSend::kFailed;
      file_pos_ += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
    }
    return FileSend::kDone;
  }

  // Up to n bytes of the response's range at `position`: <= 0 on failure.
  int64_t ReadRange(uint64_t position, char* buf, size_t n) {
    const FileRange& file = *res_.file;
    if (file.read) return file.read(position, buf, n);
    ssize_t got;
    do {
      got = ::pread(file.fd, buf, n, static_cast<off_t>(file.offset + position));
    } while (got < 0 && errno == EINTR);
    return got;
  }

  // Plain socket, on the worker, after a whole answer: has the client sent its next request
  // head within a moment? Then it is this worker's to handle. A head still incomplete, no
  // data, or other connections waiting for a worker: back to the reactor.
  bool NextHeadArrivedSoon() {
    constexpr int kLingerMs = 20;
    if (ctx_.host->WorkIsWaiting()) return false;
    int fd = Active().native_handle();
    if (buffer_.size() == 0) {
      pollfd p{fd, POLLIN, 0};
      int r;
      do {
        r = ::poll(&p, 1, kLingerMs);
      } while (r < 0 && errno == EINTR);
      if (r <= 0) return false;
      auto space = buffer_.prepare(16 * 1024);
      ssize_t n;
      do {
        n = ::recv(fd, space.data(), space.size(), MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return false;  // the reactor sees the end (or the error) again
      buffer_.commit(static_cast<size_t>(n));
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    if (ec || !parser_->is_header_done()) return false;  // the reactor parses it again
    buffer_.consume(used);
    return true;
  }

  // Sends the head (and a string body), then the file if any, asynchronously (the reactor's
  // way, and TLS's).
  void WriteResponse() {
    PrepareAnswer();
    ctx_.watch->ExpireIn(options().io_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](const beast::error_code& ec, size_t) {
                        if (ec || self->Over()) return;
                        self->AfterHead();
                      });
  }

  void AfterHead() {
    out_.clear();
    if (send_file_) {
      StartFile();
      SendFileChunk();
    } else {
      Finish();
    }
  }

  // Sends the response's file range a piece at a time, each write with its own deadline:
  // sendfile on a non-blocking socket, waiting for room; through TLS, read and encrypt.
  void SendFileChunk() {
    const FileRange& file = *res_.file;
    if (sent_ >= file.length) {
      Finish();
      return;
    }
    ctx_.watch->ExpireIn(options().io_timeout);
    if constexpr (!kTls) {
      switch (SendFileWhileItFits(stream_.native_handle())) {
        case FileSend::kDone:
          Finish();
          return;
        case FileSend::kFull:
          stream_.async_wait(Socket::wait_write,
                             [self = this->shared_from_this()](const beast::error_code& ec) {
                               if (!ec && !self->Over()) self->SendFileChunk();
                             });
          return;
        case FileSend::kFailed:
          return;
      }
    } else {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(file.length - sent_, kReadChunk));
      file_buf_.resize(chunk);
      int64_t n = ReadRange(sent_, file_buf_.data(), chunk);
      if (n <= 0 || static_cast<uint64_t>(n) > chunk) return;
      asio::async_write(stream_, asio::buffer(file_buf_.data(), static_cast<size_t>(n)),
                        [self = this->shared_from_this()](const beast::error_code& ec, size_t w) {
                          if (ec || self->Over()) return;
                          self->sent_ += w;
                          self->SendFileChunk();
                        });
    }
  }

  void Finish() {
    res_ = Response();  // releases the file
    ReleaseFileBuffer();
    if (keep_alive_ && !Over()) {
      AwaitNextRequest();
    } else {
      Close();
    }
  }

  // After a response that closes the connection: stop sending, let the client read what we
  // sent before the socket goes away (an immediate close could reset it), discarding up to
  // 1 MiB of what it still sends, for at most 2 s.
  void Close() {
    ctx_.host->EnterPhase(*ctx_.watch, Phase::kBusy, std::chrono::seconds(2));
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](const beast::error_code&) {
        self->HalfCloseAndDrain();
      });
    } else {
      HalfCloseAndDrain();
    }
  }

  void HalfCloseAndDrain() {
    beast::error_code ec;
    LowestLayer().shutdown(Socket::shutdown_send, ec);
    if (ec || ctx_.stopping->load()) return;
    file_buf_.resize(4096);
    Drain();
  }

  void Drain() {
    LowestLayer().async_read_some(
        asio::buffer(file_buf_),
        [self = this->shared_from_this()](const beast::error_code& ec, size_t n) {
          self->drained_ += n;
          if (!ec && self->drained_ < kMaxDrainBytes && !self->ctx_.watch->timed_out) {
            self->Drain();
          }
        });
  }

  Stream stream_;
  ConnectionContext ctx_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  Response res_;
  bool head_only_ = false;
  bool keep_alive_ = false;
  bool send_file_ = false;
  std::string out_;
  static constexpr size_t kReadChunk = 256 * 1024;  // a range read or sent through TLS
  std::vector<char> file_buf_;
  size_t file_pos_ = 0;  // sent part of file_buf_ (SendReadWhileItFits)
  uint64_t sent_ = 0;
  Socket worker_sock_;  // plain: the socket while a worker has it (see Active)
  std::optional<Socket::protocol_type> protocol_;
  bool on_worker_ = false;
  size_t drained_ = 0;
};

}  // namespace

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Watch::ExpireIn(std::chrono::milliseconds d) { deadline_ms.store(SteadyNowMs() + d.count()); }

Response RenderError(const ServerOptions& options, int status, std::string_view code,
                     std::string_view message) {
  if (options.render_error) return options.render_error(status, code, message);
  Response res;
  res.status = status;
  res.Set("Content-Type", "text/plain; charset=utf-8");
  res.body = std::string(code) + ": " + std::string(message) + "\n";
  return res;
}

void StartConnection(Socket socket, asio::ssl::context* tls, ConnectionContext ctx) {
  if (tls == nullptr) {
    std::make_shared<Connection<Socket>>(std::move(socket), std::move(ctx))->Start();
  } else {
    using TlsStream = asio::ssl::stream<Socket>;
    std::make_shared<Connection<TlsStream>>(TlsStream(std::move(socket), *tls), std::move(ctx))
        ->Start();
  }
}

}  // namespace sparkify::http::internal
