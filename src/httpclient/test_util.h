// Test-only: a raw HTTP/1.1 server on an ephemeral loopback port whose routes write whatever
// bytes they like to the socket (redirect loops, lying headers, bodies without a length,
// stalls), which a well-behaved server library will not do. One thread per connection; every
// response closes its connection. Stop() (or the destructor) wakes stalled routes, closes the
// sockets and joins every thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sparkify::httpclient::testing {

class RawHttpServer {
 public:
  // fd: the connection; target: the request-target ("/a?b"). Returning closes the connection.
  using Route = std::function<void(int fd, const std::string& target)>;

  RawHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~RawHttpServer() { Stop(); }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Routes match the path before '?'; unknown paths answer 404.
  void On(const std::string& path, Route route) {
    std::lock_guard lock(mu_);
    routes_[path] = std::move(route);
  }
  int requests() const { return requests_.load(); }

  // For routes: blocks until Stop() (a server that never answers).
  void WaitForStop() {
    std::unique_lock lock(mu_);
    stop_cv_.wait(lock, [&] { return stopping_; });
  }
  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  // Helpers for routes.
  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  static void Respond(int fd, int status, const std::string& content_type, std::string_view body,
                      const std::string& extra_headers = "") {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
            "Connection: close\r\n\r\n";
    SendAll(fd, head);
    SendAll(fd, body);
  }
  static void Redirect(int fd, const std::string& location, int status = 302) {
    Respond(fd, status, "text/plain", "moved", "Location: " + location + "\r\n");
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping()) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    ++requests_;
    std::string target;
    size_t sp1 = head.find(' ');
    size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
    if (sp2 != std::string::npos) target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string path = target.substr(0, target.find('?'));
    Route route;
    {
      std::lock_guard lock(mu_);
      if (auto it = routes_.find(path); it != routes_.end()) route = it->second;
    }
    if (route) {
      route(fd, target);
    } else {
      Respond(fd, 404, "text/plain", "no such path");
    }
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::map<std::string, Route> routes_;
  std::vector<std::thread> threads_;
  std::atomic<int> requests_{0};
};

}  // namespace sparkify::httpclient::testing
