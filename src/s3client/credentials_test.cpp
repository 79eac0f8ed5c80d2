#include "s3client/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "httpclient/test_util.h"
#include "s3client/s3client.h"

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
       {"http://127.999.0.1/c", "http://127.0.0.1./c", "http://10.0.0.1/creds",
        "http://169.254.169.254/latest", "ftp://x/y", "http://127.0.0.1.evil.example/c",
        "http://user@127.0.0.1/c", "http:///c", "127.0.0.1/c"}) {
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
  // The file wins over the variable, as in the SDKs.
  auto both =
      ContainerEndpointFrom(EnvOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/c"},
                                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "plain"},
                                   {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path}}));
  unlink(path);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ((*both)->authorization, "");
  EXPECT_EQ((*both)->authorization_file, path);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->authorization_file, path);  // read again at every fetch
  EXPECT_EQ((*e)->authorization, "");
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
  for (const char* utc :
       {"2026-12-06T07:21:00.123456789Z", "2026-12-06T07:21:00+00:00", "2026-12-06T07:21:00.5Z"}) {
    auto r = ParseContainerCredentials(
        std::string(R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t","Expiration":")") +
        utc + "\"}");
    ASSERT_TRUE(r.ok()) << utc;
    EXPECT_EQ(FormatIso8601(r->second), "2026-12-06T07:21:00.000Z") << utc;
  }
  for (
      const char* bad :
      {"", "[]", "not json",
       R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T07:21:00+01:00"})",
       R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T07:21:00.Z"})",
       R"({"AccessKeyId":"a","SecretAccessKey":"s","Token":"t"})",
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

// A fake endpoint, and a clock that moves only when told.
class CredentialSourceTest : public ::testing::Test {
 protected:
  // Serves key `id` until `until`, then starts a source on the endpoint (null if it failed).
  std::shared_ptr<CredentialSource> StartWith(const std::string& id, TimePoint until) {
    endpoint.Serve(id, until);
    auto source = CredentialSource::FromContainer(endpoint.Endpoint(&clock));
    EXPECT_TRUE(source.ok()) << source.status().message();
    return source.ok() ? *source : nullptr;
  }

  const TimePoint start = FromUnixSeconds(1'800'000'000);
  ManualClock clock{start};
  FakeEndpoint endpoint;
};

TEST_F(CredentialSourceTest, RenewsTheKeyBeforeItEndsAndKeepsItMeanwhile) {
  auto source = StartWith("A", start + minutes(20));
  ASSERT_TRUE(source);
  EXPECT_TRUE(source->rotates());
  EXPECT_EQ(source->Current().access_key_id, "A");
  EXPECT_EQ(source->Current().session_token, "token-A");
  EXPECT_EQ(endpoint.requests(), 1);  // 20 minutes left: no fetch

  endpoint.Serve("B", start + minutes(80));
  clock.Advance(minutes(6));  // 14 minutes left, under the 15 of refresh_before
  EXPECT_EQ(source->Current().access_key_id, "B");
  EXPECT_EQ(source->Current().secret_access_key, "secret-B");
  EXPECT_EQ(endpoint.requests(), 2);
  EXPECT_EQ(source->expiration(), start + minutes(80));
}

TEST_F(CredentialSourceTest, AFailedRenewalKeepsTheKeyAndRetriesAfterTenSeconds) {
  auto source = StartWith("A", start + minutes(10));  // already within the window
  ASSERT_TRUE(source);
  endpoint.Serve("B", start + minutes(90), "500 Internal Server Error");
  clock.Advance(seconds(10));
  EXPECT_EQ(source->Current().access_key_id, "A");  // failed: A kept
  EXPECT_EQ(endpoint.requests(), 2);
  clock.Advance(seconds(5));
  EXPECT_EQ(source->Current().access_key_id, "A");  // no new attempt within 10 s
  EXPECT_EQ(endpoint.requests(), 2);
  endpoint.Serve("B", start + minutes(90));
  clock.Advance(seconds(5));
  EXPECT_EQ(source->Current().access_key_id, "B");
  EXPECT_EQ(endpoint.requests(), 3);
}

TEST_F(CredentialSourceTest, StartFailsOnAnUnreachableOrExpiredOrBadEndpoint) {
  endpoint.Serve("A", start - seconds(1));
  EXPECT_FALSE(CredentialSource::FromContainer(endpoint.Endpoint(&clock)).ok());
  EXPECT_EQ(endpoint.requests(), 3);  // three tries
  endpoint.Serve("A", start + minutes(60), "404 Not Found");
  auto once = endpoint.Endpoint(&clock);
  once.start_attempts = 1;
  EXPECT_FALSE(CredentialSource::FromContainer(once).ok());
  ContainerEndpoint nowhere;
  nowhere.start_attempts = 1;
  nowhere.url = "http://127.0.0.1:1/creds";
  nowhere.clock = &clock;
  EXPECT_FALSE(CredentialSource::FromContainer(nowhere).ok());
}

TEST_F(CredentialSourceTest, URLsAndFormsSignedWithATemporaryKeyEndWithIt) {
  auto source = StartWith("A", start + minutes(20));
  ASSERT_TRUE(source);
  ClientOptions options;
  options.endpoint = "http://127.0.0.1:9000";
  options.credential_source = source;
  options.clock = &clock;
  S3Client client(options);
  auto url = client.PresignUrl("GET", "bucket", "key", 3600);
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_NE(url->find("X-Amz-Expires=1200&"), std::string::npos) << *url;  // the key's 20 min
  EXPECT_NE(url->find("X-Amz-Security-Token=token-A"), std::string::npos) << *url;
  EXPECT_EQ(client.KeyExpiration(), start + minutes(20));
  PostPolicyOptions policy;
  policy.key = "k";
  policy.expires_seconds = 3600;
  auto form = client.PresignPost("bucket", policy);
  ASSERT_TRUE(form.ok());
  bool token = false;
  for (const auto& field : form->fields) token |= field.first == "x-amz-security-token";
  EXPECT_TRUE(token);
  // The key ends and the endpoint fails: nothing is signed with a dead key.
  endpoint.Serve("B", start + minutes(90), "503 Service Unavailable");
  clock.Advance(minutes(21));
  EXPECT_FALSE(client.PresignUrl("GET", "bucket", "key", 3600).ok());
  clock.Advance(seconds(10));
  EXPECT_FALSE(client.PresignPost("bucket", policy).ok());
  // It comes back: the first caller after the end waits for the new key.
  endpoint.Serve("B", start + minutes(90));
  clock.Advance(seconds(10));
  url = client.PresignUrl("GET", "bucket", "key", 3600);
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_NE(url->find("token-B"), std::string::npos);
  EXPECT_NE(url->find("X-Amz-Expires=3600&"), std::string::npos);
}

TEST(CredentialSource, AFixedKeyNeverChanges) {
  auto source = CredentialSource::Fixed({"id", "secret", ""});
  EXPECT_FALSE(source->rotates());
  EXPECT_EQ(source->Current().access_key_id, "id");
  EXPECT_FALSE(source->expiration().has_value());
}

}  // namespace
}  // namespace sparkify::s3client
