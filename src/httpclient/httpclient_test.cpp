// The HTTP client against servers on loopback: the product's own HTTP server (bodies, Unix
// sockets) and a raw one that writes whatever bytes a test wants (stalls, 100 Continue, a
// connection kept for a second request).
#include "httpclient/httpclient.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "http/http.h"
#include "httpclient/test_util.h"

namespace sparkify::httpclient {
namespace {

using testing::RawHttpServer;

// Echoes what it received: the method as the status line's reason is not visible to a
// client, so everything comes back in headers and the body.
http::Response Echo(http::Request& req) {
  http::Response out;
  auto body = req.ReadAll(1 << 20);
  out.status = req.path == "/created" ? 201 : 200;
  out.Set("X-Method", req.method);
  out.Set("x-content-length",
          req.content_length ? std::to_string(*req.content_length) : std::string("none"));
  if (auto v = req.Header("x-empty")) out.Set("X-Empty-Was", "[" + std::string(*v) + "]");
  if (auto v = req.Header("x-test")) out.Set("X-Test-Was", std::string(*v));
  if (auto v = req.Header("user-agent")) out.Set("X-Agent-Was", std::string(*v));
  out.body = body.ok() ? *body : "read failed";
  if (req.method == "HEAD") out.head_content_length = 5;
  return out;
}

class EchoServer {
 public:
  explicit EchoServer(http::ServerOptions options = {}) {
    auto server = http::Server::Start(options, [](http::Request& r) { return Echo(r); });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (server.ok()) server_ = std::move(*server);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
};

// Records what a sink is told.
class RecordingSink : public Sink {
 public:
  Status OnHead(const Response& head) override {
    ++heads;
    head_status = head.status;
    head_headers = head.headers;
    return refuse_head;
  }
  Status OnBody(std::string_view data) override {
    body.append(data);
    return Status::OK();
  }
  int heads = 0;
  long head_status = 0;
  Headers head_headers;
  std::string body;
  Status refuse_head;
};

TEST(HttpClientTest, SendsTheMethodHeadersAndBodyAndReadsTheAnswer) {
  EchoServer server;
  Request req;
  req.method = "PUT";
  req.url = server.Url("/created");
  req.headers = {{"X-Test", "value one"}, {"x-empty", ""}};
  req.body.memory = "hello";
  Options options;
  options.user_agent = "sparkify-test/1";
  std::string body;
  StringSink sink(&body, 1 << 10);
  Response response;
  ASSERT_TRUE(Perform(req, options, &sink, &response).ok());
  EXPECT_EQ(response.status, 201);
  EXPECT_TRUE(response.connected);
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(response.Header("x-method").value_or(""), "PUT");
  EXPECT_EQ(response.Header("X-CONTENT-LENGTH").value_or(""), "5");
  EXPECT_EQ(response.Header("x-test-was").value_or(""), "value one");
  EXPECT_EQ(response.Header("x-empty-was").value_or(""), "[]");
  EXPECT_EQ(response.Header("x-agent-was").value_or(""), "sparkify-test/1");
  // Names as received, values without the optional whitespace.
  bool found = false;
  for (const auto& [name, value] : response.headers) found |= name == "X-Method";
  EXPECT_TRUE(found);
}

TEST(HttpClientTest, AnEmptyPutStillSendsItsLengthAndPostsAndDeletesWork) {
  EchoServer server;
  Response response;
  Request put;
  put.method = "PUT";
  put.url = server.Url("/x");
  ASSERT_TRUE(Perform(put, {}, nullptr, &response).ok());
  EXPECT_EQ(response.Header("x-content-length").value_or(""), "0");

  Request post;
  post.method = "POST";
  post.url = server.Url("/x");
  post.headers = {{"Content-Type", "application/json"}};
  post.body.memory = R"({"a":1})";
  std::string body;
  StringSink sink(&body, 1 << 10);
  ASSERT_TRUE(Perform(post, {}, &sink, &response).ok());
  EXPECT_EQ(response.Header("x-method").value_or(""), "POST");
  EXPECT_EQ(body, R"({"a":1})");

  Request del;
  del.method = "DELETE";
  del.url = server.Url("/x");
  ASSERT_TRUE(Perform(del, {}, nullptr, &response).ok());
  EXPECT_EQ(response.Header("x-method").value_or(""), "DELETE");
}

TEST(HttpClientTest, SendsExactlySizeBytesOfAFileFromItsPosition) {
  EchoServer server;
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::fputs("0123456789", file);
  std::fseek(file, 2, SEEK_SET);
  Request req;
  req.method = "PUT";
  req.url = server.Url("/x");
  req.body.file = file;
  req.body.size = 6;
  std::string body;
  StringSink sink(&body, 1 << 10);
  Response response;
  ASSERT_TRUE(Perform(req, {}, &sink, &response).ok());
  EXPECT_EQ(body, "234567");
  std::fclose(file);
}

TEST(HttpClientTest, ABodyWrittenToAFile) {
  EchoServer server;
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  Request req;
  req.method = "POST";
  req.url = server.Url("/x");
  req.body.memory = "into a file";
  FileSink sink(file);
  Response response;
  ASSERT_TRUE(Perform(req, {}, &sink, &response).ok());
  std::rewind(file);
  char buf[64] = {0};
  EXPECT_EQ(std::fread(buf, 1, sizeof buf, file), 11u);
  EXPECT_EQ(std::string(buf), "into a file");
  std::fclose(file);
}

TEST(HttpClientTest, TheSinkHearsTheHeadOnceEvenWithoutABody) {
  EchoServer server;
  Request req;
  req.method = "HEAD";
  req.url = server.Url("/x");
  RecordingSink sink;
  Response response;
  ASSERT_TRUE(Perform(req, {}, &sink, &response).ok());
  EXPECT_EQ(sink.heads, 1);
  EXPECT_EQ(sink.head_status, 200);
  EXPECT_EQ(FindHeader(sink.head_headers, "content-length").value_or(""), "5");
  EXPECT_EQ(sink.body, "");

  req.method = "POST";
  req.body.memory = "abc";
  RecordingSink with_body;
  ASSERT_TRUE(Perform(req, {}, &with_body, &response).ok());
  EXPECT_EQ(with_body.heads, 1);
  EXPECT_EQ(with_body.body, "abc");
}

TEST(HttpClientTest, ASinkThatRefusesTheHeadStopsTheExchangeWithItsStatus) {
  EchoServer server;
  Request req;
  req.method = "POST";
  req.url = server.Url("/x");
  req.body.memory = "abc";
  RecordingSink sink;
  sink.refuse_head = Status::PermissionDenied("not this one");
  Response response;
  Status s = Perform(req, {}, &sink, &response);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(s.message(), "not this one");
  EXPECT_EQ(sink.body, "");
}

TEST(HttpClientTest, LimitsOnTheAnswer) {
  EchoServer server;
  Request req;
  req.method = "POST";
  req.url = server.Url("/x");
  std::string big(1000, 'x');
  req.body.memory = big;
  std::string body;
  StringSink sink(&body, 100);
  Response response;
  Status s = Perform(req, {}, &sink, &response);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_LE(body.size(), 100u);

  Options options;
  options.max_content_length = 999;
  s = Perform(req, options, nullptr, &response);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("Content-Length over 999 bytes"), std::string::npos);
  options.max_content_length = 1000;
  EXPECT_TRUE(Perform(req, options, nullptr, &response).ok());
}

TEST(HttpClientTest, ASessionKeepsItsConnectionAndPerformDoesNot) {
  RawHttpServer raw;
  // Answers a first request and keeps the connection for a second one.
  raw.On("/twice", [](int fd, const std::string&) {
    RawHttpServer::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    std::string next;
    char buf[1024];
    while (next.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      next.append(buf, static_cast<size_t>(n));
    }
    RawHttpServer::Respond(fd, 200, "text/plain", "second");
  });
  Request req;
  req.url = raw.Url("/twice");
  Response response;
  Session session;
  std::string one;
  std::string two;
  StringSink sink_one(&one, 100);
  StringSink sink_two(&two, 100);
  ASSERT_TRUE(session.Perform(req, {}, &sink_one, &response).ok());
  ASSERT_TRUE(session.Perform(req, {}, &sink_two, &response).ok());
  EXPECT_EQ(one, "first");
  EXPECT_EQ(two, "second");
  EXPECT_EQ(raw.requests(), 1);  // one connection

  std::string fresh;
  StringSink sink_fresh(&fresh, 100);
  ASSERT_TRUE(Perform(req, {}, &sink_fresh, &response).ok());
  EXPECT_EQ(fresh, "first");
}

TEST(HttpClientTest, ABodyIsSentAgainWhenAKeptConnectionWasClosed) {
  RawHttpServer raw;
  // Answers one request, then closes the connection when the next one arrives, unanswered, as
  // a server does when its keep-alive ends at that moment.
  raw.On("/kept", [](int fd, const std::string&) {
    RawHttpServer::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return;
    // Reads all of the request before closing, so the close is a FIN, not a reset.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
  });
  Session session;
  Response response;
  Request get;
  get.url = raw.Url("/kept");
  ASSERT_TRUE(session.Perform(get, {}, nullptr, &response).ok());
  for (bool from_file : {false, true}) {
    Request post;
    post.method = "POST";
    post.url = raw.Url("/kept");
    std::FILE* file = std::tmpfile();
    ASSERT_NE(file, nullptr);
    if (from_file) {
      std::fputs("xxbody from a file", file);
      std::fseek(file, 2, SEEK_SET);
      post.body.file = file;
      post.body.size = 16;
    } else {
      post.body.memory = "body from memory";
    }
    std::string body;
    StringSink sink(&body, 100);
    Status s = session.Perform(post, {}, &sink, &response);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(body, "first");
    std::fclose(file);
  }
  EXPECT_GE(raw.requests(), 3);  // the first connection, and a fresh one for each retry
}

TEST(HttpClientTest, ASessionRefusesPinsAndConnectChecks) {
  Session session;
  Request req;
  req.url = "http://127.0.0.1:9/x";
  Options pinned;
  pinned.pins.push_back({"a.invalid", 80, {"127.0.0.1"}});
  Options checked;
  checked.check_connect = [](const sockaddr*) { return Status::OK(); };
  Response response;
  EXPECT_EQ(session.Perform(req, pinned, nullptr, &response).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(session.Perform(req, checked, nullptr, &response).code(),
            Status::Code::kInvalidArgument);
}

TEST(HttpClientTest, OverAUnixSocket) {
  std::string dir = ::testing::TempDir() + "httpclient-unix-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  http::ServerOptions so;
  so.unix_socket_path = dir + "/s";
  EchoServer server(so);
  Request req;
  req.method = "POST";
  req.url = "http://localhost/x";
  req.body.memory = "over a socket";
  Options options;
  options.unix_socket = so.unix_socket_path;
  std::string body;
  StringSink sink(&body, 100);
  Response response;
  ASSERT_TRUE(Perform(req, options, &sink, &response).ok());
  EXPECT_EQ(body, "over a socket");
  std::filesystem::remove_all(dir);
}

TEST(HttpClientTest, TheConnectCheckSeesTheAddressAndCanRefuseIt) {
  EchoServer server;
  Request req;
  req.url = server.Url("/x");
  Options options;
  std::string seen;
  options.check_connect = [&seen](const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (address->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(address);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      seen = std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
    }
    return Status::PermissionDenied("refused: " + seen);
  };
  Response response;
  Status s = Perform(req, options, nullptr, &response);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << s.ToString();
  EXPECT_EQ(seen, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_FALSE(response.connected);

  options.check_connect = [](const sockaddr*) { return Status::OK(); };
  EXPECT_TRUE(Perform(req, options, nullptr, &response).ok());
  EXPECT_EQ(response.status, 200);

  // Two addresses, the first refused: the refusal is the answer, though the second connects.
  req.url = "http://two.invalid:" + std::to_string(server.port()) + "/x";
  options.pins.push_back({"two.invalid", server.port(), {"127.0.0.2", "127.0.0.1"}});
  options.check_connect = [](const sockaddr* address) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    if (ntohl(in->sin_addr.s_addr) == 0x7f000002) return Status::PermissionDenied("not .2");
    return Status::OK();
  };
  Status s2 = Perform(req, options, nullptr, &response);
  EXPECT_EQ(s2.code(), Status::Code::kPermissionDenied) << s2.ToString();
}

TEST(HttpClientTest, APinTakesThePlaceOfNameResolution) {
  EchoServer server;
  Request req;
  req.url = "http://cover.invalid:" + std::to_string(server.port()) + "/x";
  Response response;
  Options options;
  options.pins.push_back({"cover.invalid", server.port(), {"127.0.0.1"}});
  ASSERT_TRUE(Perform(req, options, nullptr, &response).ok());
  EXPECT_EQ(response.status, 200);
}

TEST(HttpClientTest, RedirectsAreReportedNotFollowed) {
  RawHttpServer raw;
  raw.On("/moved", [](int fd, const std::string&) { RawHttpServer::Redirect(fd, "/there"); });
  Request req;
  req.url = raw.Url("/moved");
  Response response;
  ASSERT_TRUE(Perform(req, {}, nullptr, &response).ok());
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.redirect_url, raw.Url("/there"));
  EXPECT_EQ(raw.requests(), 1);
}

TEST(HttpClientTest, OnlyTheFinalResponsesHeadersAreKept) {
  RawHttpServer raw;
  raw.On("/continue", [](int fd, const std::string&) {
    RawHttpServer::SendAll(fd, "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n");
    RawHttpServer::Respond(fd, 200, "text/plain", "done", "X-Late:   spaced value  \r\n");
  });
  Request req;
  req.url = raw.Url("/continue");
  RecordingSink sink;
  Response response;
  ASSERT_TRUE(Perform(req, {}, &sink, &response).ok());
  EXPECT_FALSE(response.Header("x-early").has_value());
  EXPECT_EQ(response.Header("x-late").value_or(""), "spaced value");
  EXPECT_FALSE(FindHeader(sink.head_headers, "x-early").has_value());
  EXPECT_EQ(sink.body, "done");
}

TEST(HttpClientTest, TimeoutsAndRefusedConnections) {
  RawHttpServer raw;
  raw.On("/stall", [&raw](int, const std::string&) { raw.WaitForStop(); });
  Request req;
  req.url = raw.Url("/stall");
  Options options;
  options.timeout = std::chrono::milliseconds(300);
  Response response;
  Status s = Perform(req, options, nullptr, &response);
  EXPECT_EQ(s.code(), Status::Code::kDeadlineExceeded) << s.ToString();
  EXPECT_TRUE(response.connected);

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // a port nobody listens on
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x";
  s = Perform(req, {}, nullptr, &response);
  ::close(fd);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_FALSE(response.connected);
  raw.Stop();
}

TEST(HttpClientTest, CancellingStopsAnExchangeInAboutASecond) {
  RawHttpServer raw;
  raw.On("/stall", [&raw](int, const std::string&) { raw.WaitForStop(); });
  std::atomic<bool> cancel{true};
  Request req;
  req.url = raw.Url("/stall");
  Options options;
  options.cancel = &cancel;
  Response response;
  Status s = Perform(req, options, nullptr, &response);  // cancelled before it starts
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.message(), "cancelled");
  EXPECT_EQ(raw.requests(), 0);

  cancel = false;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  s = Perform(req, options, nullptr, &response);
  auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_EQ(s.message(), "cancelled");
  EXPECT_LT(took, std::chrono::seconds(5));
  raw.Stop();
}

TEST(HttpClientTest, AProxyFromTheEnvironmentOnlyWhenAskedFor) {
  EchoServer server;
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);  // the discard port: nothing listens
  ::setenv("no_proxy", "", 1);
  Request req;
  req.url = server.Url("/x");
  Response response;
  EXPECT_TRUE(Perform(req, {}, nullptr, &response).ok());
  Options options;
  options.environment_proxy = true;
  Status s = Perform(req, options, nullptr, &response);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
}

TEST(HttpClientTest, AHeaderCannotCarryAnotherOne) {
  EchoServer server;
  Request req;
  req.url = server.Url("/x");
  Response response;
  for (const Headers& bad :
       {Headers{{"Authorization", "Bearer t\r\nX-Evil: 1"}}, Headers{{"X-A\nX-B", "v"}},
        Headers{{"X-A: b", "v"}}, Headers{{"", "v"}}, Headers{{"X", std::string("a\0b", 3)}}}) {
    req.headers = bad;
    EXPECT_EQ(Perform(req, {}, nullptr, &response).code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(response.status, 0);  // nothing was sent
  }
}

TEST(HttpClientTest, FindHeaderIgnoresCase) {
  Headers headers = {{"Content-Type", "a"}, {"content-type", "b"}, {"ETag", "\"x\""}};
  EXPECT_EQ(FindHeader(headers, "CONTENT-TYPE").value_or(""), "a");
  EXPECT_EQ(FindHeader(headers, "etag").value_or(""), "\"x\"");
  EXPECT_FALSE(FindHeader(headers, "content").has_value());
}

}  // namespace
}  // namespace sparkify::httpclient
