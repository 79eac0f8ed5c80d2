#include "web/internal/origin.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

std::string Code(const std::optional<ApiError>& e) { return e ? e->code : "ok"; }

TEST(CheckOrigin, PostsFromOtherOriginsAreRefused) {
  OriginPolicy p;
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "127.0.0.1:8080", "http://127.0.0.1:8080")), "ok");
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "localhost:8080", "HTTPS://LocalHost:8080")), "ok");
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "127.0.0.1:8080", std::nullopt)), "ok");  // curl
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "127.0.0.1:8080", "http://evil.example")),
            "forbidden_origin");
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "127.0.0.1:8080", "http://127.0.0.1:9999")),
            "forbidden_origin");
  EXPECT_EQ(Code(CheckOrigin(p, "POST", "127.0.0.1:8080", "null")), "forbidden_origin");
  EXPECT_EQ(Code(CheckOrigin(p, "POST", std::nullopt, "http://127.0.0.1:8080")),
            "forbidden_origin");
  // Reads are not state changes (and the browser's CORS rules keep their answers).
  EXPECT_EQ(Code(CheckOrigin(p, "GET", "127.0.0.1:8080", "http://evil.example")), "ok");
}

TEST(CheckOrigin, OnLoopbackOnlyLoopbackHostNamesAreAnswered) {
  OriginPolicy p;
  p.allowed_hosts = {"sparkify.test"};
  for (const char* host : {"127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080", "127.1.2.3",
                           "app.localhost:80", "sparkify.test:8080"}) {
    EXPECT_EQ(Code(CheckOrigin(p, "GET", host, std::nullopt)), "ok") << host;
  }
  for (const char* host : {"evil.example:8080", "127.0.0.1.evil.example", "10.0.0.1",
                           "localhost.evil.example", "[::2]"}) {
    EXPECT_EQ(Code(CheckOrigin(p, "GET", host, std::nullopt)), "forbidden_host") << host;
  }
  EXPECT_EQ(Code(CheckOrigin(p, "GET", std::nullopt, std::nullopt)), "ok");  // HTTP/1.0
  p.loopback_only = false;  // listening on a public address: any name may reach it
  EXPECT_EQ(Code(CheckOrigin(p, "GET", "evil.example", std::nullopt)), "ok");
}

TEST(HostName, StripsThePortAndLowersTheCase) {
  EXPECT_EQ(HostName("Example.COM:8080"), "example.com");
  EXPECT_EQ(HostName("[::1]:80"), "[::1]");
  EXPECT_EQ(HostName("localhost."), "localhost");
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1.example"));
}

}  // namespace
}  // namespace sparkify::web::internal
