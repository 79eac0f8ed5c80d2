#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "http/connection.h"
#include "http/http.h"

namespace sparkify::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = internal::Socket;
using internal::Watch;

// The peer's IP address as text; empty for a Unix socket (or an unknown peer).
std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) return "";
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      if (::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text) == nullptr)
        return "";
    } else if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) == nullptr) {
      return "";
    }
  } else {
    return "";
  }
  return text;
}

class ServerImpl : public Server {
 public:
  ServerImpl(ServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_) {}

  ~ServerImpl() override { Stop(); }

  Status Listen() {
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      SPARKIFY_RETURN_IF_ERROR(SetUpTls());
    }
    SPARKIFY_RETURN_IF_ERROR(options_.unix_socket_path.empty() ? BindTcp() : BindUnix());
    boost::system::error_code ec;
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("listen failed: " + ec.message());
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    watchdog_thread_ = std::thread([this] { WatchdogLoop(); });
    return Status::OK();
  }

  uint16_t port() const override { return port_; }

  int active_connections() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(watches_.size());
  }

  void Stop() override {
    if (stopping_.exchange(true)) {
      JoinThreads();
      return;
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept()
    {
      std::lock_guard lock(mu_);
      for (auto& w : watches_) ::shutdown(w.fd, SHUT_RDWR);
    }
    stop_cv_.notify_all();
    JoinThreads();
    {
      std::unique_lock lock(mu_);
      idle_cv_.wait(lock, [this] { return watches_.empty(); });
    }
    ReapFinishedThreads();
    if (!options_.unix_socket_path.empty()) ::unlink(options_.unix_socket_path.c_str());
  }

 private:
  Status BindTcp() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("not an IP address: " + options_.host);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + options_.host + ":" +
                                 std::to_string(options_.port) + ": " + ec.message());
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(acceptor_.native_handle(), reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    }
    tcp_ = true;
    return Status::OK();
  }

  // Binds a Unix socket at a path that must not exist yet; whoever may enter its directory
  // may connect, so the caller chooses a private directory.
  Status BindUnix() {
    const std::string& path = options_.unix_socket_path;
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return Status::InvalidArgument("Unix socket path too long: " + path);
    }
    asio::local::stream_protocol::endpoint endpoint(path);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (ec) return Status::Unavailable("cannot listen on " + path + ": " + ec.message());
    return Status::OK();
  }

  Status SetUpTls() {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec)
      return Status::InvalidArgument("TLS certificate " + options_.tls_cert_file + ": " +
                                     ec.message());
    tls_->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
    if (ec)
      return Status::InvalidArgument("TLS key " + options_.tls_key_file + ": " + ec.message());
    return Status::OK();
  }

  void JoinThreads() {
    std::lock_guard lock(join_mu_);
    if (accept_thread_.joinable()) accept_thread_.join();
    if (watchdog_thread_.joinable()) watchdog_thread_.join();
  }

  void AcceptLoop() {
    while (!stopping_) {
      Socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) break;
      if (ec) {
        // EMFILE and friends: back off briefly instead of spinning.
        std::unique_lock lock(mu_);
        stop_cv_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      if (tcp_) {
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      std::list<Watch>::iterator watch;
      {
        std::lock_guard lock(mu_);
        if (static_cast<int>(watches_.size()) >= options_.max_connections) {
          watch = watches_.end();
        } else {
          watch = watches_.emplace(watches_.end());
          watch->fd = socket.native_handle();
        }
      }
      if (watch == watches_.end()) {
        RejectBusy(socket);
        continue;
      }
      ReapFinishedThreads();
      // Connection threads are joined, never detached: Stop() returns only when every one has
      // fully exited (thread-local state included), so nothing outlives the server.
      auto self = threads_.emplace(threads_.end());
      *self = std::thread([this, s = std::move(socket), watch, self]() mutable {
        Serve(std::move(s), &*watch);
        std::lock_guard lock(mu_);
        watches_.erase(watch);
        finished_.push_back(self);
        idle_cv_.notify_all();
      });
    }
  }

  // Only the accept thread (or Stop, after joining it) changes threads_.
  void ReapFinishedThreads() {
    std::vector<std::list<std::thread>::iterator> done;
    {
      std::lock_guard lock(mu_);
      done.swap(finished_);
    }
    for (auto it : done) {
      if (it->joinable()) it->join();
      threads_.erase(it);
    }
  }

  void RejectBusy(Socket& socket) {
    Response res = internal::RenderError(options_, 503, "SlowDown",
                                         "Too many connections; reduce your request rate.");
    std::string head = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n";
    for (const auto& [n, v] : res.headers) head += n + ": " + v + "\r\n";
    head += "Content-Length: " + std::to_string(res.body.size()) + "\r\n\r\n" + res.body;
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(head), ec);
    socket.close(ec);
  }

  // Runs on the connection's own thread; the socket is closed on return.
  void Serve(Socket socket, Watch* watch) {
    boost::system::error_code ec;
    internal::ConnectionContext ctx{&options_,       &handler_,
                                    watch,           PeerAddress(socket.native_handle()),
                                    tls_ != nullptr, &stopping_};
    if (!tls_) {
      internal::ServeConnection(socket, ctx);
      CloseUnderLock(socket);
      return;
    }
    asio::ssl::stream<Socket> stream(std::move(socket), *tls_);
    watch->ExpireIn(options_.header_timeout);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) internal::ServeConnection(stream, ctx);
    CloseUnderLock(stream.next_layer());
  }

  // The watchdog may shut the fd down at any time; close it under the same lock so the fd
  // number cannot be reused by another connection in between.
  void CloseUnderLock(Socket& socket) {
    std::lock_guard lock(mu_);
    boost::system::error_code ec;
    socket.close(ec);
  }

  void WatchdogLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(200));
      int64_t now = internal::SteadyNowMs();
      for (auto& w : watches_) {
        if (w.deadline_ms.load() < now && !w.timed_out.exchange(true)) {
          ::shutdown(w.fd, SHUT_RDWR);
        }
      }
    }
  }

  ServerOptions options_;
  Handler handler_;
  asio::io_context io_;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  bool tcp_ = false;
  std::unique_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::thread watchdog_thread_;
  std::mutex join_mu_;
  mutable std::mutex mu_;  // guards watches_
  std::list<Watch> watches_;
  std::list<std::thread> threads_;                          // one per open connection
  std::vector<std::list<std::thread>::iterator> finished_;  // guarded by mu_; to be joined
  std::condition_variable stop_cv_;
  std::condition_variable idle_cv_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  Status s = server->Listen();
  if (!s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace sparkify::http
