#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "http/http.h"

namespace sparkify::http {
namespace {

// A raw loopback client for what curl will not do (slow clients, garbage).
class RawClient {
 public:
  // `from`: the local address to connect from (any of 127.0.0.0/8 reaches loopback).
  explicit RawClient(uint16_t port, const char* from = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from, &local.sin_addr);
      (void)!::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(std::string_view data) { (void)!::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // Waits up to `ms` for an answer, then reads until 50 ms pass without more (or the peer
  // closes).
  std::string ReadFor(int ms) {
    std::string out;
    char buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, out.empty() ? ms : 50) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Waits up to `ms` for data and returns what one read gets (empty: none, or closed).
  std::string ReadSome(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return "";
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // True once the peer has closed the connection (checked without waiting long).
  bool Closed(int ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
  }
  // Reads until the peer closes (or 10 s pass).
  std::string ReadAll() {
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlResult {
  long status = 0;
  std::string body;
  std::string headers;
};

CurlResult Curl(const std::string& url, const std::string& method = "GET",
                const std::string& body = "", bool expect_continue = false) {
  CURL* curl = curl_easy_init();
  CurlResult r;
  curl_slist* hdrs = nullptr;
  if (!expect_continue) hdrs = curl_slist_append(hdrs, "Expect:");
  else hdrs = curl_slist_append(hdrs, "Expect: 100-continue");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    auto server = Server::Start(options, [this](Request& req) { return Handle(req); });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  Response Handle(Request& req) {
    Response res;
    if (req.path == "/echo") {
      auto body = req.ReadAll(1 << 20);
      if (!body.ok()) {
        res.status = 413;
        res.body = body.status().ToString();
        return res;
      }
      res.body = req.method + " " + req.query + " " + *body;
    } else if (req.path == "/reject") {
      res.status = 403;
      res.body = "no";
    } else if (req.path == "/file") {
      FILE* f = std::tmpfile();
      std::string data = "0123456789";
      (void)!::write(fileno(f), data.data(), data.size());
      res.file = FileRange{fileno(f), 2, 5,
                           std::shared_ptr<void>(f, [](void* p) { std::fclose((FILE*)p); })};
    } else if (req.path == "/big") {
      FILE* f = std::tmpfile();
      std::string data(8 << 20, 'x');
      for (size_t i = 0; i < data.size(); i += 4096)
        data[i] = static_cast<char>('a' + i / 4096 % 26);
      (void)!::write(fileno(f), data.data(), data.size());
      res.file = FileRange{fileno(f), 0, data.size(),
                           std::shared_ptr<void>(f, [](void* p) { std::fclose((FILE*)p); })};
    } else if (req.path == "/read" || req.path == "/read-fails") {
      // 8 MiB made on the fly (as decrypted data is), in reads of any size; /read-fails
      // fails after 1 MiB.
      bool fails = req.path == "/read-fails";
      res.file = FileRange{-1, 0, 8u << 20, nullptr,
                           [fails](uint64_t pos, char* buf, size_t n) -> int64_t {
                             if (fails && pos >= (1u << 20)) return -1;
                             n = std::min<size_t>(n, 100000);  // short reads too
                             for (size_t i = 0; i < n; ++i) {
                               buf[i] = static_cast<char>('a' + (pos + i) / 4096 % 26);
                             }
                             return static_cast<int64_t>(n);
                           }};
    } else if (req.path == "/head") {
      res.head_content_length = 12345;
    } else if (req.path == "/throw") {
      throw std::runtime_error("boom");
    } else if (req.path == "/stream") {
      res.stream = [](const std::function<bool(std::string_view)>& write) {
        for (const char* piece : {"one ", "", "two ", "three"}) {
          if (!write(piece)) return;
        }
      };
    } else if (req.path == "/slow-handler") {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return res;
  }

  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(ServerTest, EchoesMethodQueryAndBody) {
  StartServer();
  auto r = Curl(base_ + "/echo?a=1", "PUT", "hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT a=1 hello");
}

TEST_F(ServerTest, ExpectContinueSendsBodyOnlyWhenRead) {
  StartServer();
  auto r = Curl(base_ + "/echo", "PUT", std::string(100000, 'x'), true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 4 + 1 + 100000u);
  auto rejected = Curl(base_ + "/reject", "PUT", std::string(100000, 'x'), true);
  EXPECT_EQ(rejected.status, 403);
  EXPECT_EQ(rejected.body, "no");
}

TEST_F(ServerTest, UnreadBodyIsDrainedAndConnectionStaysUsable) {
  StartServer();
  RawClient c(server_->port());
  c.Send("PUT /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
         "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string out = c.ReadAll();
  EXPECT_NE(out.find("403 Forbidden"), std::string::npos);
  EXPECT_NE(out.find("GET  "), std::string::npos) << out;
}

TEST_F(ServerTest, RefusalReachesAClientThatWaitsBeforeSendingItsBody) {
  StartServer();
  RawClient c(server_->port());
  c.Send("PUT /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  auto start = std::chrono::steady_clock::now();
  std::string out = c.ReadAll();  // the server answers, then closes
  EXPECT_NE(out.find("403 Forbidden"), std::string::npos);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(ServerTest, ServesFileRangesAndHeadLengths) {
  StartServer();
  EXPECT_EQ(Curl(base_ + "/file").body, "23456");
  auto head = Curl(base_ + "/head", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.headers.find("Content-Length: 12345"), std::string::npos) << head.headers;
}

// A keep-alive client that sends each request as soon as it has the answer (handled by the
// worker that answered the last one), then reads an 8 MiB file slowly (the rest goes out
// from the reactor as the client makes room), and goes on on the same connection.
TEST_F(ServerTest, OneConnectionServesBackToBackRequestsAndASlowlyReadFile) {
  StartServer();
  RawClient c(server_->port());
  for (int i = 0; i < 200; ++i) {
    c.Send("GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string answer;
    while (answer.find("GET n=" + std::to_string(i) + " ") == std::string::npos) {
      std::string more = c.ReadSome(2000);
      ASSERT_FALSE(more.empty()) << "no answer to request " << i;
      answer += more;
    }
  }
  c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  size_t body_start = std::string::npos;
  while (body_start == std::string::npos || got.size() - body_start < (8u << 20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a slow reader
    std::string more = c.ReadSome(2000);
    ASSERT_FALSE(more.empty()) << "stalled at " << got.size();
    got += more;
    if (body_start == std::string::npos && got.find("\r\n\r\n") != std::string::npos) {
      body_start = got.find("\r\n\r\n") + 4;
    }
  }
  ASSERT_EQ(got.size() - body_start, 8u << 20);
  EXPECT_EQ(got[body_start + 4096 * 3], 'd');
  c.Send("GET /echo?after HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadSome(2000).find("GET after "), std::string::npos);
}

// A range produced by FileRange::read: whole and in order to a fast client and to a slow
// one (the rest from the reactor), and a failing read cuts the connection short.
TEST_F(ServerTest, ARangeFromAReadFunctionIsSentWholeOrCutOnFailure) {
  StartServer();
  std::string expected(8u << 20, '\0');
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>('a' + i / 4096 % 26);
  auto fast = Curl(base_ + "/read");
  EXPECT_EQ(fast.status, 200);
  EXPECT_TRUE(fast.body == expected) << fast.body.size();

  RawClient c(server_->port());
  c.Send("GET /read HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  size_t body_start = std::string::npos;
  while (body_start == std::string::npos || got.size() - body_start < expected.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::string more = c.ReadSome(2000);
    ASSERT_FALSE(more.empty()) << "stalled at " << got.size();
    got += more;
    if (body_start == std::string::npos && got.find("\r\n\r\n") != std::string::npos) {
      body_start = got.find("\r\n\r\n") + 4;
    }
  }
  EXPECT_TRUE(got.substr(body_start) == expected);
  c.Send("GET /echo?after HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadSome(2000).find("GET after "), std::string::npos);

  auto cut = Curl(base_ + "/read-fails");
  EXPECT_LT(cut.body.size(), expected.size());
  EXPECT_GE(cut.body.size(), 1u << 20);
  EXPECT_EQ(Curl(base_ + "/echo").status, 200);  // still serving
}

TEST_F(ServerTest, HandlerExceptionBecomes500) {
  StartServer();
  EXPECT_EQ(Curl(base_ + "/throw").status, 500);
  EXPECT_EQ(Curl(base_ + "/echo").status, 200);  // still serving
}

TEST(FieldSyntaxTest, NamesAreTokensAndValuesHaveNoControls) {
  EXPECT_TRUE(IsValidFieldName("Content-Type"));
  EXPECT_TRUE(IsValidFieldName("x-amz-meta-a.b_c~1"));
  for (std::string_view bad : std::initializer_list<std::string_view>{"", "a b", "a:b", "a\r\nb", "a\nb", std::string_view("a\0b", 3),
                               "caf\xc3\xa9", "a(b)"}) {
    EXPECT_FALSE(IsValidFieldName(bad)) << bad;
  }
  EXPECT_TRUE(IsValidFieldValue(""));
  EXPECT_TRUE(IsValidFieldValue("text/html; charset=utf-8"));
  EXPECT_TRUE(IsValidFieldValue("a\tb"));
  EXPECT_TRUE(IsValidFieldValue("attachment; filename=\"caf\xc3\xa9.png\""));
  for (std::string_view bad : std::initializer_list<std::string_view>{"a\r\nSet-Cookie: x=1", "a\rb", "a\nb", std::string_view("a\0b", 3),
                               "a\x7f", "a\x01"}) {
    EXPECT_FALSE(IsValidFieldValue(bad)) << bad;
  }
}

// A handler that copies decoded client input into its headers (as a `response-*` override
// would) must not let it split the response: the server answers 500 instead.
TEST(ServerHeaderTest, AnInvalidHeaderFromTheHandlerBecomes500AndTheServerGoesOn) {
  auto server = Server::Start({}, [](Request& req) {
    Response res;
    if (req.path == "/value") res.Set("Content-Type", "text/plain\r\nSet-Cookie: s=1");
    if (req.path == "/nul") res.Set("X-A", std::string("a\0b", 3));
    if (req.path == "/name") res.Set("Set-Cookie: s=1\r\nX", "v");
    res.body = "<html>page</html>";
    return res;
  });
  ASSERT_TRUE(server.ok());
  std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  for (const char* path : {"/value", "/nul", "/name"}) {
    auto r = Curl(base + path);
    EXPECT_EQ(r.status, 500) << path;
    EXPECT_EQ(r.headers.find("Set-Cookie"), std::string::npos) << r.headers;
    EXPECT_EQ(r.body.find("<html>"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Curl(base + "/ok").status, 200);
  (*server)->Stop();
}

TEST_F(ServerTest, MalformedRequestGets400) {
  StartServer();
  RawClient c(server_->port());
  c.Send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(c.ReadAll().find("400 Bad Request"), std::string::npos);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  RawClient c(server_->port());
  c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_NE(c.ReadAll().find("431"), std::string::npos);
}

TEST_F(ServerTest, SlowHeaderIsCutOff) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(500);
  StartServer(options);
  RawClient c(server_->port());
  c.Send("GET / HTTP/1.1\r\nHost:");  // and never finishes
  auto start = std::chrono::steady_clock::now();
  c.ReadAll();  // returns when the server closes
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, StalledBodyIsCutOff) {
  ServerOptions options;
  options.io_timeout = std::chrono::milliseconds(500);
  StartServer(options);
  RawClient c(server_->port());
  c.Send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  auto start = std::chrono::steady_clock::now();
  c.ReadAll();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Polls until the server counts `n` open connections.
void AwaitConnections(Server& server, int n) {
  for (int i = 0; i < 500 && server.active_connections() != n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Makes each client a busy connection: a PUT whose body stops after 2 of its 10 bytes, so its
// handler waits for the rest. Returns once the server counts `open` connections and the
// handlers have had a moment to start.
void MakeBusy(Server& server, std::initializer_list<RawClient*> clients, int open) {
  for (RawClient* c : clients) {
    c->Send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
  }
  AwaitConnections(server, open);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// Connections in the middle of a request (here: a body still to come) are never shed.
TEST_F(ServerTest, ConnectionLimitAnswers503WhenEveryConnectionIsBusy) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  RawClient a(server_->port()), b(server_->port());
  MakeBusy(*server_, {&a, &b}, 2);
  RawClient c(server_->port());
  std::string answer = c.ReadAll();
  EXPECT_NE(answer.find("503"), std::string::npos);
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos);
  a.Send("cdefghij");
  EXPECT_NE(a.ReadFor(2000).find("200 OK"), std::string::npos);
}

TEST_F(ServerTest, AtTheLimitTheLongestIdleKeepAliveConnectionMakesRoom) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  RawClient a(server_->port()), b(server_->port());
  a.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(a.ReadFor(500).find("200 OK"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  b.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(b.ReadFor(500).find("200 OK"), std::string::npos);
  // Both idle now: a newcomer is served and `a`, idle the longest, is the one cut.
  RawClient c(server_->port());
  c.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadFor(2000).find("200 OK"), std::string::npos);
  EXPECT_TRUE(a.Closed());
  EXPECT_FALSE(b.Closed(100));
}

TEST_F(ServerTest, AtTheLimitASlowHeadIsCutBeforeANewcomerIsRefused) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  RawClient a(server_->port()), b(server_->port());
  a.Send("GET /echo HTTP/1.1\r\nHo");  // slowloris: a head that never ends
  b.Send("GET /echo HTTP/1.1\r\nHo");
  AwaitConnections(*server_, 2);
  RawClient c(server_->port());
  c.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadFor(2000).find("200 OK"), std::string::npos);
  EXPECT_TRUE(a.Closed());
}

TEST_F(ServerTest, OneClientAddressIsCappedAndOthersAreNot) {
  ServerOptions options;
  options.max_connections_per_ip = 2;
  StartServer(options);
  RawClient a(server_->port()), b(server_->port());
  MakeBusy(*server_, {&a, &b}, 2);
  RawClient same(server_->port());
  EXPECT_NE(same.ReadAll().find("503"), std::string::npos);
  RawClient other(server_->port(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  other.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(other.ReadFor(2000).find("200 OK"), std::string::npos);
}

// A newcomer refused because its address is at its cap costs nobody else a connection.
TEST_F(ServerTest, ARefusedNewcomerShedsNoOtherClientsConnection) {
  ServerOptions options;
  options.max_connections = 3;
  options.max_connections_per_ip = 2;
  StartServer(options);
  RawClient other(server_->port(), "127.0.0.2");
  other.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(other.ReadFor(500).find("200 OK"), std::string::npos);  // now idle
  RawClient a(server_->port()), b(server_->port());
  MakeBusy(*server_, {&a, &b}, 3);
  RawClient c(server_->port());
  EXPECT_NE(c.ReadAll().find("503"), std::string::npos);
  EXPECT_FALSE(other.Closed(200)) << "the idle connection of another address was cut";
}

TEST_F(ServerTest, IdleKeepAliveConnectionsCloseAfterTheIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  RawClient a(server_->port());
  a.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(a.ReadFor(500).find("200 OK"), std::string::npos);
  EXPECT_TRUE(a.Closed(3000));
}

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

// Six hundred clients that connect and dribble a head cost sockets, not threads, and the
// others are served meanwhile.
TEST_F(ServerTest, HundredsOfSlowClientsHoldNoThreadsAndStopNoOne) {
  ServerOptions options;
  options.max_connections_per_ip = 0;
  StartServer(options);
  int threads_before = ThreadCount();
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 600; ++i) {
    slow.push_back(std::make_unique<RawClient>(server_->port()));
    slow.back()->Send(i % 2 ? "GET / HTTP/1.1\r\nHo" : "");
  }
  AwaitConnections(*server_, 600);
  EXPECT_EQ(server_->active_connections(), 600);
  for (int i = 0; i < 20; ++i) {
    auto r = Curl(base_ + "/echo?n=" + std::to_string(i));
    ASSERT_EQ(r.status, 200);
  }
  EXPECT_LT(ThreadCount() - threads_before, 10);
}

TEST_F(ServerTest, StopClosesLiveConnections) {
  StartServer();
  RawClient a(server_->port());
  a.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 200 && server_->active_connections() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  uint16_t port = server_->port();
  server_->Stop();
  EXPECT_EQ(server_->active_connections(), 0);
  RawClient late(port);
  EXPECT_FALSE(late.connected()) << "the listening socket must be closed by Stop()";
}

TEST_F(ServerTest, BusyPortIsAClearError) {
  StartServer();
  ServerOptions options;
  options.port = server_->port();
  auto second = Server::Start(options, [](Request&) { return Response(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos);
}

TEST_F(ServerTest, StreamedBodyIsChunkedAndClosesTheConnection) {
  StartServer();
  auto r = Curl(base_ + "/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "one two three");
  EXPECT_NE(r.headers.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(r.headers.find("Content-Length"), std::string::npos);
  RawClient c(server_->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");  // keep-alive asked, closed anyway
  std::string raw = c.ReadAll();
  EXPECT_NE(raw.find("4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  auto head = Curl(base_ + "/stream", "HEAD");
  EXPECT_EQ(head.status, 200);
}

TEST_F(ServerTest, ChunkedRequestBodyIsDecoded) {
  StartServer();
  RawClient c(server_->port());
  c.Send("PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(c.ReadAll().find("PUT  abcde"), std::string::npos);
}

}  // namespace
}  // namespace sparkify::http
