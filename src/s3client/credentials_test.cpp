#include "s3client/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "httpclient/test_util.h"

namespace sparkify::s3client {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

auto EnvOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ContainerEndpoint, RelativeUriGoesToTheEcsAddressWithItsToken) {
  auto e = ContainerEndpointFrom(
      EnvOf({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}}));
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->url, "http://169.254.170.2/v2/credentials/abc");
  EXPECT_EQ((*e)->authorization, "tok");
}

TEST(ContainerEndpoint, NoVariableIsNoEndpoint) {
  auto e = ContainerEndpointFrom(EnvOf({}));
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->has_value());
}

TEST(ContainerEndpoint, FullUriInPlainHttpOnlyToLoopbackOrTheContainersAddresses) {
  for (const char* ok : {"http://127.0.0.1:9/creds", "http://localhost/c", "http://[::1]:80/c",
                         "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/c",
                         "https://creds.example/c", "http://127.1.2.3/c"}) {
    auto e = ContainerEndpointFrom(EnvOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ok}}));
    EXPECT_TRUE(e.ok() && e->has_value()) << ok;
  }
  for (const char* bad :
       {"http://10.0.0.1/creds", "http://169.254.169.254/latest", "ftp://x/y",
        "http://127.0.0.1.evil.example/c", "http://user@127.0.0.1/c", "http:///c", "127.0.0.1/c"}) {
    auto e = ContainerEndpointFrom(EnvOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad}}));
    EXPECT_FALSE(e.ok()) << bad;
  }
  auto rel = ContainerEndpointFrom(EnvOf({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@evil/x"}}));
  EXPECT_FALSE(rel.ok());
}

TEST(ContainerEndpoint, TokenFileIsReadAndTrimmed) {
  char path[] = "/tmp/sparkify-token-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "secret-token\n", 13), 13);
  close(fd);
  auto e =
      ContainerEndpointFrom(EnvOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/c"},
                                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path}}));
  unlink(path);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->authorization, "secret-token");
  auto missing = ContainerEndpointFrom(
      EnvOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/c"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/token"}}));
  EXPECT_FALSE(missing.ok());
}

TEST(ContainerCredentials, ParsesTheEndpointsAnswerAndRefusesPartialOnes) {
  auto ok = ParseContainerCredentials(
      R"({"RoleArn":"arn:aws:iam::1:role/r","AccessKeyId":"ASIA1","SecretAccessKey":"s",)"
      R"("Token":"t","Expiration":"2026-12-06T07:21:00Z"})");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->first.access_key_id, "ASIA1");
  EXPECT_EQ(ok->first.secret_access_key, "s");
  EXPECT_EQ(ok->first.session_token, "t");
  EXPECT_EQ(FormatIso8601(ok->second), "2026-12-06T07:21:00.000Z");
  for (
      const char* bad :
      {"", "[]", "not json", R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t"})",
       R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t","Expiration":"tomorrow"})",
       R"({"AccessKeyId":"","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T07:21:00Z"})",
       R"({"AccessKeyId":1,"SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T07:21:00Z"})"}) {
    EXPECT_FALSE(ParseContainerCredentials(bad).ok()) << bad;
  }
}

// An endpoint on loopback that answers what the test sets.
class FakeEndpoint {
 public:
  FakeEndpoint() {
    server_.On("/creds", [this](int fd, const std::string&) {
      std::string status, body;
      {
        std::lock_guard lock(mu_);
        status = status_;
        body = body_;
      }
      std::string answer = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n";
      answer += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
      answer += body;
      (void)!::write(fd, answer.data(), answer.size());
    });
  }
  void Serve(const std::string& id, TimePoint until, std::string status = "200 OK") {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
    body_ = R"({"AccessKeyId":")" + id + R"(","SecretAccessKey":"secret-)" + id +
            R"(","Token":"token-)" + id + R"(","Expiration":")" + FormatIso8601(until) + "\"}";
  }
  ContainerEndpoint Endpoint(const Clock* clock) const {
    ContainerEndpoint e;
    e.url = server_.Url("/creds");
    e.clock = clock;
    return e;
  }
  int requests() const { return server_.requests(); }

 private:
  httpclient::testing::RawHttpServer server_;
  std::mutex mu_;
  std::string status_ = "200 OK", body_;
};

TEST(CredentialSource, RenewsTheKeyBeforeItEndsAndKeepsItMeanwhile) {
  const TimePoint start = FromUnixSeconds(1'800'000'000);
  ManualClock clock(start);
  FakeEndpoint endpoint;
  endpoint.Serve("A", start + minutes(20));
  auto source = CredentialSource::FromContainer(endpoint.Endpoint(&clock));
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_TRUE((*source)->rotates());
  EXPECT_EQ((*source)->Current().access_key_id, "A");
  EXPECT_EQ((*source)->Current().session_token, "token-A");
  EXPECT_EQ(endpoint.requests(), 1);  // 20 minutes left: no fetch

  endpoint.Serve("B", start + minutes(80));
  clock.Advance(minutes(6));  // 14 minutes left, under the 15 of refresh_before
  EXPECT_EQ((*source)->Current().access_key_id, "B");
  EXPECT_EQ((*source)->Current().secret_access_key, "secret-B");
  EXPECT_EQ(endpoint.requests(), 2);
  EXPECT_EQ((*source)->expiration(), start + minutes(80));
}

TEST(CredentialSource, AFailedRenewalKeepsTheKeyAndRetriesAfterTenSeconds) {
  const TimePoint start = FromUnixSeconds(1'800'000'000);
  ManualClock clock(start);
  FakeEndpoint endpoint;
  endpoint.Serve("A", start + minutes(10));  // already within the window
  auto source = CredentialSource::FromContainer(endpoint.Endpoint(&clock));
  ASSERT_TRUE(source.ok());
  endpoint.Serve("B", start + minutes(90), "500 Internal Server Error");
  clock.Advance(seconds(10));
  EXPECT_EQ((*source)->Current().access_key_id, "A");  // failed: A kept
  EXPECT_EQ(endpoint.requests(), 2);
  clock.Advance(seconds(5));
  EXPECT_EQ((*source)->Current().access_key_id, "A");  // no new attempt within 10 s
  EXPECT_EQ(endpoint.requests(), 2);
  endpoint.Serve("B", start + minutes(90));
  clock.Advance(seconds(5));
  EXPECT_EQ((*source)->Current().access_key_id, "B");
  EXPECT_EQ(endpoint.requests(), 3);
}

TEST(CredentialSource, StartFailsOnAnUnreachableOrExpiredOrBadEndpoint) {
  const TimePoint start = FromUnixSeconds(1'800'000'000);
  ManualClock clock(start);
  FakeEndpoint endpoint;
  endpoint.Serve("A", start - seconds(1));
  EXPECT_FALSE(CredentialSource::FromContainer(endpoint.Endpoint(&clock)).ok());
  endpoint.Serve("A", start + minutes(60), "404 Not Found");
  EXPECT_FALSE(CredentialSource::FromContainer(endpoint.Endpoint(&clock)).ok());
  ContainerEndpoint nowhere;
  nowhere.url = "http://127.0.0.1:1/creds";
  nowhere.clock = &clock;
  EXPECT_FALSE(CredentialSource::FromContainer(nowhere).ok());
}

TEST(CredentialSource, AFixedKeyNeverChanges) {
  auto source = CredentialSource::Fixed({"id", "secret", ""});
  EXPECT_FALSE(source->rotates());
  EXPECT_EQ(source->Current().access_key_id, "id");
  EXPECT_FALSE(source->expiration().has_value());
}

}  // namespace
}  // namespace sparkify::s3client
