#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/resource.h>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/http.h"
#include "http/internal/connection.h"

namespace sparkify::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = internal::Socket;
using internal::Phase;
using internal::Watch;

// Raises the soft open-file limit to the hard one (each connection is a descriptor) and
// returns how many connections fit in it, keeping room for files and the process's others.
int ConnectionsTheFdLimitAllows() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  rlim_t usable = lim.rlim_cur > 256 ? (lim.rlim_cur - 128) / 2 : 64;  // a file per request
  return static_cast<int>(std::min<rlim_t>(usable, 1 << 20));
}

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

class ServerImpl : public Server, private internal::ConnectionHost {
 public:
  ServerImpl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        acceptor_(io_),
        retry_timer_(io_) {
    options_.max_connections =
        std::max(1, std::min(options_.max_connections, ConnectionsTheFdLimitAllows()));
    options_.max_active_requests = std::max(1, options_.max_active_requests);
  }

  ~ServerImpl() override { Stop(); }

  Status Listen() {
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      SPARKIFY_RETURN_IF_ERROR(SetUpTls());
    }
    SPARKIFY_RETURN_IF_ERROR(options_.unix_socket_path.empty() ? BindTcp() : BindUnix());
    boost::system::error_code ec;
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("listen failed: " + ec.message());
    Accept();
    reactor_thread_ = std::thread([this] { io_.run(); });
    watchdog_thread_ = std::thread([this] { WatchdogLoop(); });
    return Status::OK();
  }

  uint16_t port() const override { return port_; }

  int active_connections() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(watches_.size());
  }

  void Stop() override {
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopping_ = true;
    if (reactor_thread_.joinable()) {
      // Stop accepting and cut every connection: pending operations fail at once, handlers
      // blocked on the client see errors, and each connection ends by itself.
      // The acceptor belongs to the reactor thread: close it there, and wait until it is
      // closed, so a client connecting after Stop() is refused rather than left in the
      // backlog.
      std::promise<void> closed;
      asio::post(io_, [this, &closed] {
        boost::system::error_code ec;
        acceptor_.close(ec);
        retry_timer_.cancel();
        closed.set_value();
      });
      closed.get_future().wait();
      {
        std::unique_lock lock(mu_);
        for (auto& w : watches_) {
          if (w.fd >= 0) ::shutdown(w.fd, SHUT_RDWR);
        }
        stop_cv_.notify_all();
        idle_cv_.wait(lock, [this] { return watches_.empty(); });
      }
      work_.reset();
      io_.stop();
      reactor_thread_.join();
    }
    if (watchdog_thread_.joinable()) {
      stop_cv_.notify_all();
      watchdog_thread_.join();
    }
    StopWorkers();
    if (!options_.unix_socket_path.empty()) ::unlink(options_.unix_socket_path.c_str());
    stopped_ = true;
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

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, Socket socket) {
      if (stopping_) return;
      if (ec) {
        // EMFILE and friends: back off briefly instead of spinning.
        retry_timer_.expires_after(std::chrono::milliseconds(50));
        retry_timer_.async_wait([this](const boost::system::error_code& e) {
          if (!e && !stopping_) Accept();
        });
        return;
      }
      Admit(std::move(socket));
      Accept();
    });
  }

  void Admit(Socket socket) {
    if (tcp_) {
      int one = 1;
      ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    std::string ip = PeerAddress(socket.native_handle());
    Watch* watch = nullptr;
    {
      std::lock_guard lock(mu_);
      // The address's own cap first: shedding one of its connections also frees a place in
      // all. Nothing is shed for a newcomer that is refused anyway.
      auto mine = ip.empty() ? per_ip_.end() : per_ip_.find(ip);
      bool ip_full = options_.max_connections_per_ip > 0 && mine != per_ip_.end() &&
                     mine->second >= options_.max_connections_per_ip;
      bool room =
          !stopping_ && (ip_full ? ShedOneLocked(&ip)
                                 : live_ < options_.max_connections || ShedOneLocked(nullptr));
      if (room) {
        watch = &watches_.emplace_back();
        watch->fd = socket.native_handle();
        watch->ip = ip;
        watch->phase = Phase::kHead;
        watch->since_ms = internal::SteadyNowMs();
        watch->ExpireIn(options_.header_timeout);
        watch->it = std::prev(watches_.end());
        ++live_;
        if (!ip.empty()) ++per_ip_[ip];
      }
    }
    if (watch == nullptr) {
      RejectBusy(socket);
      return;
    }
    internal::StartConnection(
        std::move(socket), tls_.get(),
        {&options_, &handler_, this, watch, tls_ != nullptr, &stopping_, &dormant_});
  }

  // Makes room by cutting the connection that matters least: the longest-idle keep-alive
  // one, else the one that has been sending its head the longest (a client that sends its
  // head in one go never stays in that phase long). `ip`: only among that client's.
  bool ShedOneLocked(const std::string* ip) {
    Watch* victim = nullptr;
    for (Phase phase : {Phase::kIdle, Phase::kHead}) {
      for (auto& w : watches_) {
        if (w.leaving || w.phase != phase || (ip != nullptr && w.ip != *ip)) continue;
        if (victim == nullptr || w.since_ms.load() < victim->since_ms.load()) victim = &w;
      }
      if (victim != nullptr) break;
    }
    if (victim == nullptr) return false;
    victim->timed_out = true;
    if (victim->fd >= 0) ::shutdown(victim->fd, SHUT_RDWR);
    LeaveLocked(*victim);
    return true;
  }

  // The watch stops counting against the limits (its connection is on its way out).
  void LeaveLocked(Watch& w) {
    if (w.leaving) return;
    w.leaving = true;
    --live_;
    if (!w.ip.empty()) {
      auto it = per_ip_.find(w.ip);
      if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
    }
  }

  void RejectBusy(Socket& socket) {
    Response res = internal::RenderError(options_, 503, "SlowDown",
                                         "Too many connections; reduce your request rate.");
    std::string head =
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n";
    for (const auto& [n, v] : res.headers) head += n + ": " + v + "\r\n";
    head += "Content-Length: " + std::to_string(res.body.size()) + "\r\n\r\n" + res.body;
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(head), ec);
    socket.close(ec);
  }

  // --- ConnectionHost

  void EnterPhase(Watch& watch, Phase phase, std::chrono::milliseconds deadline) override {
    watch.since_ms.store(internal::SteadyNowMs());
    watch.phase.store(phase);
    if (deadline.count() > 0) {
      watch.ExpireIn(deadline);
    } else {
      watch.Clear();
    }
  }

  void Closed(Watch& watch, Socket& socket) override {
    std::lock_guard lock(mu_);
    boost::system::error_code ec;
    socket.close(ec);
    LeaveLocked(watch);
    watches_.erase(watch.it);
    idle_cv_.notify_all();
  }

  void CloseLost(Watch& watch, int fd) override {
    std::lock_guard lock(mu_);
    ::close(fd);
    watch.fd = -1;
  }

  void RunOnWorker(std::function<void()> work) override {
    std::lock_guard lock(pool_mu_);
    tasks_.push_back(std::move(work));
    queued_.store(tasks_.size());
    if (tasks_.size() > waiting_workers_ &&
        workers_.size() < static_cast<size_t>(options_.max_active_requests)) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
    pool_cv_.notify_one();
  }

  bool WorkIsWaiting() const override { return queued_.load() > 0; }

  void WorkerLoop() {
    std::unique_lock lock(pool_mu_);
    for (;;) {
      ++waiting_workers_;
      pool_cv_.wait(lock, [this] { return !tasks_.empty() || workers_stop_; });
      --waiting_workers_;
      if (tasks_.empty()) return;  // stopping, nothing left
      std::function<void()> work = std::move(tasks_.front());
      tasks_.pop_front();
      queued_.store(tasks_.size());
      lock.unlock();
      work();
      work = nullptr;  // may end the connection: not under pool_mu_
      lock.lock();
    }
  }

  void StopWorkers() {
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(pool_mu_);
      workers_stop_ = true;
      workers.swap(workers_);
    }
    pool_cv_.notify_all();
    for (auto& t : workers) t.join();
  }

  void WatchdogLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(200));
      int64_t now = internal::SteadyNowMs();
      for (auto& w : watches_) {
        if (w.deadline_ms.load() < now && !w.timed_out.exchange(true)) {
          if (w.fd >= 0) ::shutdown(w.fd, SHUT_RDWR);
          LeaveLocked(w);
        }
      }
    }
  }

  ServerOptions options_;
  Handler handler_;
  asio::io_context io_;
  asio::io_context dormant_;  // never run; see ConnectionContext::dormant
  // Keeps the reactor running while no operation is pending (a worker may still post one).
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  asio::steady_timer retry_timer_;
  bool tcp_ = false;
  std::unique_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::thread reactor_thread_;
  std::thread watchdog_thread_;

  mutable std::mutex mu_;  // guards the registry: watches_, live_, per_ip_
  std::list<Watch> watches_;
  int live_ = 0;  // watches not leaving
  std::unordered_map<std::string, int> per_ip_;
  std::condition_variable stop_cv_;
  std::condition_variable idle_cv_;

  std::mutex pool_mu_;  // guards the worker pool
  std::deque<std::function<void()>> tasks_;
  std::atomic<size_t> queued_{0};  // tasks_.size(), readable without the lock
  std::vector<std::thread> workers_;
  size_t waiting_workers_ = 0;
  bool workers_stop_ = false;
  std::condition_variable pool_cv_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  Status s = server->Listen();
  if (!s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace sparkify::http
