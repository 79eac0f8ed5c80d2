#include "fetch/fetcher.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <map>
#include <opencv2/core.hpp>
#include <thread>

#include "httpclient/test_util.h"
#include "vision/cutout.h"

namespace sparkify::fetch {
namespace {

using httpclient::testing::RawHttpServer;

std::string SmallPng() {
  vision::Image img{cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 200, 30))};
  auto png = vision::EncodePng(img);
  EXPECT_TRUE(png.ok());
  return png.ok() ? *png : std::string();
}

std::string SmallJpeg() {
  vision::Image img{cv::Mat(8, 8, CV_8UC3, cv::Scalar(200, 20, 30))};
  auto jpg = vision::EncodeJpeg(img);
  EXPECT_TRUE(jpg.ok());
  return jpg.ok() ? *jpg : std::string();
}

// Resolves names from a table; anything else is unknown.
class TableResolver final : public Resolver {
 public:
  std::map<std::string, std::vector<std::string>> table;
  Result<std::vector<IpAddress>> Resolve(const std::string& host) override {
    if (auto ip = IpAddress::Parse(host)) return std::vector<IpAddress>{*ip};
    auto it = table.find(host);
    if (it == table.end()) return Status::Unavailable("cannot resolve " + host);
    std::vector<IpAddress> out;
    for (const auto& a : it->second) out.push_back(*IpAddress::Parse(a));
    return out;
  }
};

class FetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(server_.port(), 0);
    png_ = SmallPng();
    jpeg_ = SmallJpeg();
    server_.On("/cover.png", [this](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "image/png", png_);
    });
    server_.On("/cover.jpg", [this](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "image/jpeg; charset=binary", jpeg_);
    });
    server_.On("/redirect", [this](int fd, const std::string&) {
      RawHttpServer::Redirect(fd, "/cover.png", 301);
    });
    server_.On("/to-loopback", [this](int fd, const std::string&) {
      RawHttpServer::Redirect(fd, "http://127.0.0.1:" + std::to_string(server_.port() + 1) + "/x");
    });
    server_.On("/to-metadata", [](int fd, const std::string&) {
      RawHttpServer::Redirect(fd, "http://169.254.169.254/latest/meta-data/iam/", 307);
    });
    server_.On("/to-v6-loopback", [](int fd, const std::string&) {
      RawHttpServer::Redirect(fd, "http://[::1]:80/x", 308);
    });
    server_.On("/to-ftp", [](int fd, const std::string&) {
      RawHttpServer::Redirect(fd, "ftp://example.com/x.png");
    });
    server_.On("/loop", [](int fd, const std::string&) { RawHttpServer::Redirect(fd, "/loop"); });
    server_.On("/text", [](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "text/html", "<html>hello</html>");
    });
    server_.On("/no-type",
               [this](int fd, const std::string&) { RawHttpServer::Respond(fd, 200, "", png_); });
    server_.On("/liar", [](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "image/jpeg", "this is plain text, not a JPEG at all");
    });
    server_.On("/empty", [](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "image/png", "");
    });
    server_.On("/big", [this](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, "image/png", png_ + std::string(5000, '\0'));
    });
    // No Content-Length: the size is only known while streaming.
    server_.On("/stream", [this](int fd, const std::string&) {
      std::string head = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n";
      if (!RawHttpServer::SendAll(fd, head) || !RawHttpServer::SendAll(fd, png_)) return;
      std::string chunk(64 * 1024, '\0');
      for (int i = 0; i < 1024; ++i) {  // 64 MiB unless the client hangs up
        if (!RawHttpServer::SendAll(fd, chunk)) return;
        streamed_ += chunk.size();
      }
    });
    server_.On("/stall", [this](int, const std::string&) { server_.WaitForStop(); });
    server_.On("/slow-body", [this](int fd, const std::string&) {
      std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n";
      RawHttpServer::SendAll(fd, head);
      RawHttpServer::SendAll(fd, png_);
      server_.WaitForStop();  // the rest never comes
    });
  }

  // Routes use the members below: the server's threads must be joined before they go.
  void TearDown() override { server_.Stop(); }

  HttpFetcher Fetcher(FetchOptions o = {}) { return HttpFetcher(std::move(o), &resolver_); }
  FetchOptions Private() {
    FetchOptions o;
    o.allow_private = true;
    return o;
  }
  // Allows exactly this test server, not the rest of loopback.
  FetchOptions OnlyServer() {
    FetchOptions o;
    o.allowed_endpoints = {"127.0.0.1:" + std::to_string(server_.port())};
    return o;
  }
  static void ExpectError(const Result<FetchedImage>& r, Status::Code code,
                          const std::string& text) {
    ASSERT_FALSE(r.ok()) << "expected an error containing '" << text << "'";
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().ToString();
  }

  TableResolver resolver_;
  std::string png_, jpeg_;
  std::atomic<size_t> streamed_{0};
  RawHttpServer server_;  // last: destroyed (joined) first
};

TEST_F(FetcherTest, LoopbackRefusedUnlessAllowed) {
  auto r = Fetcher().Fetch(server_.Url("/cover.png"));
  ExpectError(r, Status::Code::kInvalidArgument, "127.0.0.1 is a loopback address;");
  EXPECT_EQ(server_.requests(), 0);  // refused before connecting

  auto ok = Fetcher(Private()).Fetch(server_.Url("/cover.png"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body, png_);
  EXPECT_EQ(ok->content_type, "image/png");
  EXPECT_EQ(ok->redirects, 0);
}

TEST_F(FetcherTest, JpegWithParametersInContentType) {
  auto r = Fetcher(OnlyServer()).Fetch(server_.Url("/cover.jpg"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, jpeg_);
}

TEST_F(FetcherTest, RedirectFollowedAndRechecked) {
  auto r = Fetcher(OnlyServer()).Fetch(server_.Url("/redirect"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->redirects, 1);
  EXPECT_EQ(r->final_url, server_.Url("/cover.png"));
  EXPECT_EQ(r->body, png_);
}

TEST_F(FetcherTest, RedirectToLoopbackRefused) {
  // The first hop is allowed (this server only); the redirect's target is another loopback
  // port, which is not.
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/to-loopback")),
              Status::Code::kInvalidArgument, "127.0.0.1 is a loopback address;");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/to-metadata")),
              Status::Code::kInvalidArgument,
              "169.254.169.254 is a link-local address (cloud metadata);");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/to-v6-loopback")),
              Status::Code::kInvalidArgument, "::1 is a loopback address;");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/to-ftp")), Status::Code::kInvalidArgument,
              "only http and https");
}

TEST_F(FetcherTest, TooManyRedirects) {
  FetchOptions o = OnlyServer();
  o.max_redirects = 3;
  const int before = server_.requests();
  ExpectError(Fetcher(o).Fetch(server_.Url("/loop")), Status::Code::kInvalidArgument,
              "too many redirects (more than 3)");
  EXPECT_EQ(server_.requests() - before, 4);  // the first hop and 3 redirects
}

TEST_F(FetcherTest, OversizeAbortedFromContentLength) {
  FetchOptions o = OnlyServer();
  o.max_bytes = 1000;
  ExpectError(Fetcher(o).Fetch(server_.Url("/big")), Status::Code::kResourceExhausted, "too large");
}

TEST_F(FetcherTest, OversizeAbortedWhileStreaming) {
  FetchOptions o = OnlyServer();
  o.max_bytes = 100 * 1024;
  ExpectError(Fetcher(o).Fetch(server_.Url("/stream")), Status::Code::kResourceExhausted,
              "too large: more than 102400 bytes");
  server_.Stop();  // joins the route: the count is final
  EXPECT_LT(streamed_.load(), size_t{16} << 20) << "the server kept streaming after the abort";
}

TEST_F(FetcherTest, NonImagesRefused) {
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/text")), Status::Code::kInvalidArgument,
              "not an image: Content-Type 'text/html'");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/no-type")), Status::Code::kInvalidArgument,
              "Content-Type missing");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/liar")), Status::Code::kInvalidArgument,
              "not JPEG, PNG or WebP");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/empty")), Status::Code::kInvalidArgument,
              "empty body");
  ExpectError(Fetcher(OnlyServer()).Fetch(server_.Url("/missing")), Status::Code::kNotFound,
              "HTTP 404");
}

TEST_F(FetcherTest, TotalTimeoutWhenNoAnswer) {
  FetchOptions o = OnlyServer();
  o.total_timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  ExpectError(Fetcher(o).Fetch(server_.Url("/stall")), Status::Code::kDeadlineExceeded,
              "timed out after 300 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(FetcherTest, ACallersBudgetShorterThanTheTotalTimeoutWins) {
  FetchOptions o = OnlyServer();
  o.total_timeout = std::chrono::seconds(20);
  auto start = std::chrono::steady_clock::now();
  ExpectError(Fetcher(o).FetchWithin(server_.Url("/stall"), std::chrono::milliseconds(300)),
              Status::Code::kDeadlineExceeded, "timed out after 300 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(FetcherTest, ACancelStopsAFetchInProgress) {
  std::atomic<bool> cancel{false};
  FetchOptions o = OnlyServer();
  o.total_timeout = std::chrono::seconds(20);
  o.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the fetch is waiting by then
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  ExpectError(Fetcher(o).Fetch(server_.Url("/stall")), Status::Code::kUnavailable, "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  canceller.join();
  // Already cancelled: nothing is even tried.
  ExpectError(Fetcher(o).Fetch(server_.Url("/cover.png")), Status::Code::kUnavailable, "cancelled");
}

TEST_F(FetcherTest, TotalTimeoutWhenBodyStalls) {
  FetchOptions o = OnlyServer();
  o.total_timeout = std::chrono::milliseconds(300);
  ExpectError(Fetcher(o).Fetch(server_.Url("/slow-body")), Status::Code::kDeadlineExceeded,
              "timed out");
}

TEST_F(FetcherTest, ConnectTimeoutWhenNobodyAccepts) {
  // A listener whose accept queue is full: the kernel drops further SYNs, so connect() hangs.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // fill the queue; later ones stay half-open
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(c);
  }
  FetchOptions o = Private();
  o.connect_timeout = std::chrono::milliseconds(300);
  o.total_timeout = std::chrono::milliseconds(5000);
  auto start = std::chrono::steady_clock::now();
  auto r = Fetcher(o).Fetch("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x.png");
  ExpectError(r, Status::Code::kDeadlineExceeded, "connecting to 127.0.0.1 timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  for (int c : fillers) ::close(c);
  ::close(lfd);
}

TEST_F(FetcherTest, NamesAreResolvedCheckedAndPinned) {
  // "images.test" means nothing to the system resolver: success proves curl connected to the
  // address we resolved and checked, not one it looked up itself.
  resolver_.table["images.test"] = {"127.0.0.1"};
  const std::string url = "http://images.test:" + std::to_string(server_.port()) + "/cover.png";
  ExpectError(Fetcher().Fetch(url), Status::Code::kInvalidArgument,
              "images.test is a loopback address 127.0.0.1");
  auto r = Fetcher(OnlyServer()).Fetch(url);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, png_);
}

TEST_F(FetcherTest, EveryResolvedAddressIsChecked) {
  resolver_.table["mixed.test"] = {"93.184.216.34", "10.1.2.3"};
  ExpectError(Fetcher().Fetch("http://mixed.test/a.png"), Status::Code::kInvalidArgument,
              "private address 10.1.2.3");
  resolver_.table["meta.test"] = {"169.254.169.254"};
  ExpectError(Fetcher().Fetch("https://meta.test/a.png"), Status::Code::kInvalidArgument,
              "cloud metadata");
  resolver_.table["v6.test"] = {"2606:4700::1", "fe80::1"};
  ExpectError(Fetcher().Fetch("http://v6.test/a.png"), Status::Code::kInvalidArgument,
              "link-local address fe80::1");
  ExpectError(Fetcher().Fetch("http://nowhere.test/a.png"), Status::Code::kUnavailable,
              "cannot resolve nowhere.test");
}

TEST_F(FetcherTest, MalformedUrlsRefused) {
  ExpectError(Fetcher().Fetch("ftp://example.com/a.png"), Status::Code::kInvalidArgument,
              "only http and https");
  ExpectError(Fetcher().Fetch("http://user:pw@example.com/a.png"), Status::Code::kInvalidArgument,
              "user name or password");
  ExpectError(Fetcher().Fetch("http://[fe80::1%25eth0]/a.png"), Status::Code::kInvalidArgument,
              "zone id");
  ExpectError(Fetcher().Fetch("not a url"), Status::Code::kInvalidArgument, "malformed URL");
  ExpectError(Fetcher().Fetch("http://0.0.0.0/a.png"), Status::Code::kInvalidArgument,
              "unspecified");
}

}  // namespace
}  // namespace sparkify::fetch
