#include "web/internal/proxy.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sparkify::web::internal {
namespace {

http::Request From(std::string peer, http::HeaderList headers) {
  http::Request req;
  req.remote_ip = std::move(peer);
  req.headers = std::move(headers);
  return req;
}

TEST(TrustedProxies, ParsesCidrListsAndNamesABadEntry) {
  auto nets = ParseNetworks(" 10.0.0.0/8, 172.16.0.0/12,,fd00::/8 ,192.168.1.7");
  ASSERT_TRUE(nets.ok()) << nets.status().message();
  EXPECT_EQ(nets->size(), 4u);
  EXPECT_TRUE(InNetworks(*nets, "10.200.3.4"));
  EXPECT_TRUE(InNetworks(*nets, "172.31.255.1"));
  EXPECT_FALSE(InNetworks(*nets, "172.32.0.1"));
  EXPECT_TRUE(InNetworks(*nets, "fd12:3456::1"));
  EXPECT_TRUE(InNetworks(*nets, "::ffff:10.1.1.1"));  // IPv4-mapped counts as IPv4
  EXPECT_TRUE(InNetworks(*nets, "192.168.1.7"));
  EXPECT_FALSE(InNetworks(*nets, "192.168.1.8"));
  EXPECT_FALSE(InNetworks(*nets, "8.8.8.8"));
  EXPECT_FALSE(InNetworks(*nets, "not an address"));
  EXPECT_TRUE(ParseNetworks("").ok());
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/8x",
                          "example.com", "10.0.0.0/-1", "0.0.0.0/0", "::/0"}) {
    auto r = ParseNetworks(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(TrustedProxies, TheProxysLastEntryNamesTheClientAndItsScheme) {
  auto proxies = *ParseNetworks("10.0.0.0/8");
  // The client wrote its own X-Forwarded-For; the ALB appended the real address.
  auto req = From("10.0.1.20",
                  {{"x-forwarded-for", "1.2.3.4, 203.0.113.9"}, {"x-forwarded-proto", "https"}});
  ApplyForwarded(proxies, &req);
  EXPECT_EQ(req.remote_ip, "203.0.113.9");
  EXPECT_TRUE(req.secure);
  // Two header lines: the last line's last entry.
  req = From("10.0.1.20", {{"x-forwarded-for", "198.51.100.1"},
                           {"x-forwarded-for", "5.6.7.8 , 2001:db8::5"},
                           {"x-forwarded-proto", "HTTP"}});
  req.secure = true;
  ApplyForwarded(proxies, &req);
  EXPECT_EQ(req.remote_ip, "2001:db8::5");
  EXPECT_FALSE(req.secure);
}

TEST(TrustedProxies, AnyoneElsesHeadersAreIgnored) {
  auto proxies = *ParseNetworks("10.0.0.0/8");
  auto req =
      From("203.0.113.50", {{"x-forwarded-for", "10.0.0.1"}, {"x-forwarded-proto", "https"}});
  ApplyForwarded(proxies, &req);
  EXPECT_EQ(req.remote_ip, "203.0.113.50");
  EXPECT_FALSE(req.secure);
  // No proxies configured: nothing is trusted, not even loopback.
  req = From("127.0.0.1", {{"x-forwarded-for", "1.2.3.4"}});
  ApplyForwarded({}, &req);
  EXPECT_EQ(req.remote_ip, "127.0.0.1");
}

TEST(TrustedProxies, AnEntryWithAPortOrBracketsNamesTheClientInCanonicalForm) {
  auto proxies = *ParseNetworks("10.0.0.0/8");
  for (auto [xff, client] :
       std::vector<std::pair<std::string, std::string>>{{"1.2.3.4:5678", "1.2.3.4"},
                                                        {"[2001:DB8:0:0::5]:443", "2001:db8::5"},
                                                        {"[2001:db8::5]", "2001:db8::5"},
                                                        {"2001:0db8::0005", "2001:db8::5"},
                                                        {"::ffff:198.51.100.4", "198.51.100.4"}}) {
    auto req = From("10.9.9.9", {{"x-forwarded-for", xff}});
    ApplyForwarded(proxies, &req);
    EXPECT_EQ(req.remote_ip, client) << xff;
  }
}

TEST(TrustedProxies, AGarbledLastEntryKeepsThePeer) {
  auto proxies = *ParseNetworks("10.0.0.0/8");
  for (const char* xff :
       {"1.2.3.4, unknown", "1.2.3.4,", "<script>", "1.2.3.4:", "1.2.3.4:x", "[2001:db8::5",
        "[2001:db8::5]:", "[1.2.3.4]x", "1.2.3.4:5:6", "1.2.3.4:123456"}) {
    auto req = From("10.9.9.9", {{"x-forwarded-for", xff}});
    ApplyForwarded(proxies, &req);
    EXPECT_EQ(req.remote_ip, "10.9.9.9") << xff;
  }
}

}  // namespace
}  // namespace sparkify::web::internal
