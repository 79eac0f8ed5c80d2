// Endpoint parsing and the bucket/key -> host/path mapping.
#include "s3client/internal/addressing.h"

#include <gtest/gtest.h>

namespace sparkify::s3client::internal {
namespace {

TEST(ParseEndpoint, KeepsSchemeAndHostDropsDefaultPorts) {
  const std::tuple<std::string, std::string, std::string> ok[] = {
      {"https://s3.amazonaws.com", "https", "s3.amazonaws.com"},
      {"http://127.0.0.1:9000", "http", "127.0.0.1:9000"},
      {"http://localhost:80/", "http", "localhost"},
      {"https://host:443", "https", "host"},
      {"https://host:80", "https", "host:80"},
      {"http://[::1]:9000", "http", "[::1]:9000"},
  };
  for (const auto& [url, scheme, host] : ok) {
    auto e = ParseEndpoint(url);
    ASSERT_TRUE(e.ok()) << url;
    EXPECT_EQ(e->scheme, scheme);
    EXPECT_EQ(e->host, host);
  }
  for (std::string bad :
       {"s3.amazonaws.com", "http://", "http://h/p", "http://h?x", "http://a b"}) {
    EXPECT_FALSE(ParseEndpoint(bad).ok()) << bad;
  }
}

TEST(TargetFor, PathStyleVirtualHostedAndAuto) {
  Endpoint aws{"https", "s3.amazonaws.com"};
  Endpoint local{"http", "127.0.0.1:9000"};
  struct Case {
    Endpoint endpoint;
    Addressing addressing;
    std::string bucket, key, host, path;
  };
  const Case cases[] = {
      {aws, Addressing::kAuto, "bucket", "a/b c", "bucket.s3.amazonaws.com", "/a/b c"},
      {aws, Addressing::kAuto, "bucket", "", "bucket.s3.amazonaws.com", "/"},
      {aws, Addressing::kAuto, "my.bucket", "k", "s3.amazonaws.com", "/my.bucket/k"},
      {aws, Addressing::kAuto, "Upper", "k", "s3.amazonaws.com", "/Upper/k"},
      {aws, Addressing::kPath, "bucket", "k", "s3.amazonaws.com", "/bucket/k"},
      {local, Addressing::kAuto, "bucket", "k", "127.0.0.1:9000", "/bucket/k"},
      {local, Addressing::kAuto, "bucket", "", "127.0.0.1:9000", "/bucket"},
      {local, Addressing::kVirtualHosted, "bucket", "k", "bucket.127.0.0.1:9000", "/k"},
  };
  for (const Case& c : cases) {
    Target t = TargetFor(c.endpoint, c.addressing, c.bucket, c.key);
    EXPECT_EQ(t.host, c.host) << c.bucket << "/" << c.key;
    EXPECT_EQ(t.decoded_path, c.path) << c.bucket << "/" << c.key;
  }
}

TEST(IsVirtualHostable, FollowsDnsLabelRules) {
  for (std::string ok : {std::string("abc"), std::string("my-bucket-1"), std::string(63, 'a')}) {
    EXPECT_TRUE(IsVirtualHostable(ok)) << ok;
  }
  for (std::string bad : std::vector<std::string>{"ab", std::string(64, 'a'), "-abc", "abc-",
                                                  "a.b.c", "ABC", "a_b"}) {
    EXPECT_FALSE(IsVirtualHostable(bad)) << bad;
  }
}

TEST(ParseS3Url, SplitsBucketAndKey) {
  auto p = ParseS3Url("s3://b/dir/key with spaces");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "b");
  EXPECT_EQ(p->second, "dir/key with spaces");
  EXPECT_FALSE(ParseS3Url("s3://b").ok());
  EXPECT_FALSE(CheckNames("a/b", "k", true).ok());
  EXPECT_FALSE(CheckNames("b", "", true).ok());
  EXPECT_TRUE(CheckNames("b", "", false).ok());
}

}  // namespace
}  // namespace sparkify::s3client::internal
