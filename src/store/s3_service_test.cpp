// The store in-process (DiskStore + IdentityStore + S3Service on a real http::Server on an
// ephemeral loopback port), driven by our own S3 client: the client's signing is checked
// by the server's verification, and the other way round.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/crypto.h"
#include "http/http.h"
#include "httpclient/httpclient.h"
#include "iam/identity.h"
#include "s3client/s3client.h"
#include "store/s3_service.h"
#include "store/test_util.h"

namespace sparkify::store {
namespace {

namespace fs = std::filesystem;

const sigv4::Credentials kRoot = InProcessStore::kRoot;

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<InProcessStore>();
    ASSERT_TRUE(store_->status().ok()) << store_->status().ToString();
    endpoint_ = store_->endpoint();
    dir_ = store_->dir();
    ids_ = store_->identities();
  }

  s3client::S3Client Client(sigv4::Credentials creds = kRoot) { return store_->Client(creds); }

  static std::string CodeOf(const Status& s) {
    auto e = s3client::S3ErrorOf(s);
    return e ? e->code : s.ToString();
  }

  std::unique_ptr<InProcessStore> store_;
  std::string endpoint_;
  fs::path dir_;
  iam::IdentityStore* ids_ = nullptr;
};

long CurlStatus(const std::string& url, std::string* body = nullptr) {
  CURL* curl = curl_easy_init();
  std::string sink;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
        static_cast<std::string*>(out)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body ? body : &sink);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

TEST_F(StoreFixture, ClientRoundTripsObjectsWithAwkwardKeys) {
  auto client = Client();
  ASSERT_TRUE(client.CreateBucket("bkt").ok());
  const std::string keys[] = {"plain.txt", "a b+c/é ü.png", "../up/./x", "a//b", "?#%&=.txt"};
  for (const auto& key : keys) {
    s3client::PutOptions put;
    put.content_type = "text/plain";
    put.metadata = {{"owner", "tests"}};
    auto r = client.PutObject("bkt", key, "body of " + key, put);
    ASSERT_TRUE(r.ok()) << key << ": " << r.status().ToString();
    EXPECT_EQ(r->etag, "\"" + HexEncode(Md5("body of " + key)) + "\"");
    auto got = client.GetObject("bkt", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(got->body, "body of " + key);
    EXPECT_EQ(got->info.content_type, "text/plain");
    auto head = client.HeadObject("bkt", key);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->size, ("body of " + key).size());
  }
  auto list = client.ListObjectsV2("bkt");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->objects.size(), std::size(keys));
  for (size_t i = 1; i < list->objects.size(); ++i) {
    EXPECT_LT(list->objects[i - 1].key, list->objects[i].key);  // sorted by bytes
  }
  ASSERT_TRUE(client.DeleteObject("bkt", "plain.txt").ok());
  EXPECT_EQ(CodeOf(client.GetObject("bkt", "plain.txt").status()), "NoSuchKey");
}

TEST_F(StoreFixture, PresignedUrlsWorkOnlyAsSigned) {
  auto client = Client();
  ASSERT_TRUE(client.CreateBucket("bkt").ok());
  ASSERT_TRUE(client.PutObject("bkt", "cover 1.png", "png bytes").ok());
  auto url = client.PresignUrl("GET", "bkt", "cover 1.png", 60);
  ASSERT_TRUE(url.ok());
  std::string body;
  EXPECT_EQ(CurlStatus(*url, &body), 200);
  EXPECT_EQ(body, "png bytes");
  // The same URL without its signature is anonymous, and Block Public Access refuses it.
  std::string unsigned_url = url->substr(0, url->find('?'));
  body.clear();
  EXPECT_EQ(CurlStatus(unsigned_url, &body), 403);
  EXPECT_NE(body.find("<Code>AccessDenied</Code>"), std::string::npos);
  // One changed signature character.
  std::string tampered = *url;
  char& last = tampered.back();
  last = last == '0' ? '1' : '0';
  body.clear();
  EXPECT_EQ(CurlStatus(tampered, &body), 403);
  EXPECT_NE(body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos);
}

// A browser's upload: the form our client signs, posted as multipart/form-data.
httpclient::Response PostForm(const s3client::PresignedPost& form, const std::string& content_type,
                              const std::string& file, std::string* answer) {
  const std::string boundary = "----form" + HexEncode(RandomBytes(8));
  std::string body;
  auto part = [&](const std::string& name, const std::string& value) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  };
  for (const auto& [name, value] : form.fields) part(name, value);
  if (!content_type.empty()) part("Content-Type", content_type);
  body += "--" + boundary +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + file +
          "\r\n--" + boundary + "--\r\n";
  httpclient::Request req;
  req.method = "POST";
  req.url = form.url;
  req.headers = {{"Content-Type", "multipart/form-data; boundary=" + boundary}};
  req.body.memory = body;
  httpclient::StringSink sink(answer, 1 << 20);
  httpclient::Response response;
  EXPECT_TRUE(httpclient::Perform(req, {}, &sink, &response).ok());
  return response;
}

TEST_F(StoreFixture, ConditionalPutsFromTheClientKeepOneWriterAtATime) {
  auto client = Client();
  ASSERT_TRUE(client.CreateBucket("bkt").ok());
  s3client::PutOptions create;
  create.if_none_match_any = true;
  auto first = client.PutObject("bkt", "jobs/a.json", "v1", create);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Status again = client.PutObject("bkt", "jobs/a.json", "v1 again", create).status();
  EXPECT_EQ(again.code(), Status::Code::kFailedPrecondition) << again.ToString();
  EXPECT_EQ(s3client::S3ErrorOf(again)->code, "PreconditionFailed");

  s3client::PutOptions update;
  update.if_match = first->etag;
  auto second = client.PutObject("bkt", "jobs/a.json", "v2", update);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // The same version again: someone wrote since, so this writer must read first.
  Status stale = client.PutObject("bkt", "jobs/a.json", "v2 too", update).status();
  EXPECT_EQ(s3client::S3ErrorOf(stale)->code, "PreconditionFailed") << stale.ToString();
  EXPECT_EQ(client.GetObject("bkt", "jobs/a.json")->body, "v2");
}

TEST_F(StoreFixture, PresignedPostFormsUploadWithinTheirPolicy) {
  auto client = Client();
  ASSERT_TRUE(client.CreateBucket("bkt").ok());
  s3client::PostPolicyOptions policy;
  policy.key = "uploads/${filename}";
  policy.min_bytes = 1;
  policy.max_bytes = 100;
  policy.content_type_prefix = "image/";
  policy.fields = {{"success_action_status", "201"}};
  auto form = client.PresignPost("bkt", policy);
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  EXPECT_EQ(form->url, endpoint_ + "/bkt");

  std::string answer;
  EXPECT_EQ(PostForm(*form, "image/png", std::string(100, 'p'), &answer).status, 201) << answer;
  EXPECT_NE(answer.find("<Key>uploads/a.png</Key>"), std::string::npos) << answer;
  auto got = client.GetObject("bkt", "uploads/a.png");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->body, std::string(100, 'p'));
  EXPECT_EQ(got->info.content_type, "image/png");

  answer.clear();
  EXPECT_EQ(PostForm(*form, "image/png", std::string(101, 'p'), &answer).status, 400);
  EXPECT_NE(answer.find("<Code>EntityTooLarge</Code>"), std::string::npos) << answer;
  answer.clear();
  EXPECT_EQ(PostForm(*form, "text/html", "<html>", &answer).status, 403);
  EXPECT_NE(answer.find("Policy Condition failed"), std::string::npos) << answer;
  answer.clear();
  EXPECT_EQ(PostForm(*form, "", "no type", &answer).status, 403) << answer;

  // Signed with a key the store does not know, or a wrong secret.
  auto stranger = Client({"ROOTKEY", "another-secret", ""}).PresignPost("bkt", policy);
  ASSERT_TRUE(stranger.ok());
  answer.clear();
  EXPECT_EQ(PostForm(*stranger, "image/png", "png", &answer).status, 403);
  EXPECT_NE(answer.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << answer;

  policy.expires_seconds = 0;
  EXPECT_EQ(client.PresignPost("bkt", policy).status().code(), Status::Code::kInvalidArgument);
  policy.expires_seconds = 60;
  policy.key = "";
  EXPECT_EQ(client.PresignPost("bkt", policy).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(StoreFixture, WrongSecretAndUnknownKeyAreRefused) {
  ASSERT_TRUE(Client().CreateBucket("bkt").ok());
  auto wrong = Client({kRoot.access_key_id, "not-the-secret", ""});
  EXPECT_EQ(CodeOf(wrong.PutObject("bkt", "k", "x").status()), "SignatureDoesNotMatch");
  auto unknown = Client({"NOSUCHKEY", "whatever", ""});
  EXPECT_EQ(CodeOf(unknown.PutObject("bkt", "k", "x").status()), "InvalidAccessKeyId");
}

TEST_F(StoreFixture, IdentityPoliciesLimitUsers) {
  ASSERT_TRUE(Client().CreateBucket("bkt").ok());
  ASSERT_TRUE(Client().PutObject("bkt", "cutouts/a.png", "a").ok());
  auto reader = ids_->EnsureUser("reader", R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/cutouts/*"}]})");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto client = Client({reader->access_key_id, reader->secret_access_key, ""});
  EXPECT_TRUE(client.GetObject("bkt", "cutouts/a.png").ok());
  EXPECT_EQ(CodeOf(client.PutObject("bkt", "cutouts/b.png", "b").status()), "AccessDenied");
  // No s3:ListBucket: a missing key must not be told apart from a forbidden one.
  EXPECT_EQ(CodeOf(client.GetObject("bkt", "cutouts/missing.png").status()), "AccessDenied");
  EXPECT_EQ(CodeOf(client.ListObjectsV2("bkt").status()), "AccessDenied");
  EXPECT_EQ(CodeOf(client.DeleteObject("bkt", "cutouts/a.png")), "AccessDenied");
}

TEST_F(StoreFixture, SessionTokensMustMatch) {
  ASSERT_TRUE(Client().CreateBucket("bkt").ok());
  auto user = ids_->EnsureUser("temp", R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})");
  ASSERT_TRUE(user.ok());
  // Turn the user's key into temporary credentials by adding a token to its file.
  std::string creds_path = (dir_ / "iam/users/temp/credentials.json").string();
  std::string doc = R"({"access_key_id": ")" + user->access_key_id +
                    R"(", "secret_access_key": ")" + user->secret_access_key +
                    R"(", "session_token": "tok-123"})";
  FILE* f = std::fopen(creds_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(doc.c_str(), f);
  std::fclose(f);
  ASSERT_TRUE(ids_->Reload().ok());
  auto with_token = Client({user->access_key_id, user->secret_access_key, "tok-123"});
  EXPECT_TRUE(with_token.PutObject("bkt", "k", "v").ok());
  auto without = Client({user->access_key_id, user->secret_access_key, ""});
  EXPECT_EQ(CodeOf(without.PutObject("bkt", "k", "v").status()), "InvalidToken");
  auto wrong = Client({user->access_key_id, user->secret_access_key, "tok-999"});
  EXPECT_EQ(CodeOf(wrong.PutObject("bkt", "k", "v").status()), "InvalidToken");
}

TEST_F(StoreFixture, AMalformedCredentialsFileIsIgnoredNotFatal) {
  ASSERT_TRUE(Client().CreateBucket("bkt").ok());
  const char* policy = R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})";
  auto good = ids_->EnsureUser("good", policy);
  auto bad = ids_->EnsureUser("bad", policy);
  ASSERT_TRUE(good.ok() && bad.ok());
  for (const char* doc :
       {R"({"access_key_id": 5, "secret_access_key": "x"})",
        R"({"access_key_id": "AKIDBAD", "secret_access_key": ["x"]})",
        R"({"access_key_id": "AKIDBAD", "secret_access_key": "s", "expiration": 1})", R"([1, 2])",
        "not json"}) {
    FILE* f = std::fopen((dir_ / "iam/users/bad/credentials.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(doc, f);
    std::fclose(f);
    ASSERT_NO_THROW((void)ids_->Reload()) << doc;
    auto client = Client({good->access_key_id, good->secret_access_key, ""});
    EXPECT_TRUE(client.PutObject("bkt", "k", "v").ok()) << doc;
    EXPECT_EQ(CodeOf(Client({"AKIDBAD", "s", ""}).PutObject("bkt", "k", "v").status()),
              "InvalidAccessKeyId")
        << doc;
  }
}

TEST_F(StoreFixture, VirtualHostedStyleAddressesTheBucketFromTheHost) {
  ASSERT_TRUE(Client().CreateBucket("vhost-bkt").ok());
  s3client::ClientOptions o;
  // curl resolves every *.localhost name to loopback; the store's default domain is
  // s3.localhost, so Host: vhost-bkt.s3.localhost:PORT names the bucket.
  o.endpoint = "http://s3.localhost:" + endpoint_.substr(endpoint_.rfind(':') + 1);
  o.addressing = s3client::Addressing::kVirtualHosted;
  o.credentials = kRoot;
  s3client::S3Client vhost(o);
  ASSERT_TRUE(vhost.PutObject("vhost-bkt", "dir/key 1.txt", "hello").ok());
  auto got = Client().GetObject("vhost-bkt", "dir/key 1.txt");  // read back path style
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "hello");
  auto list = vhost.ListObjectsV2("vhost-bkt");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->objects.size(), 1u);
  EXPECT_EQ(list->objects[0].key, "dir/key 1.txt");
}

TEST_F(StoreFixture, MissingBucketAndBadNames) {
  auto client = Client();
  EXPECT_EQ(CodeOf(client.PutObject("nobucket", "k", "v").status()), "NoSuchBucket");
  EXPECT_EQ(CodeOf(client.CreateBucket("Bad_Name")), "InvalidBucketName");
  ASSERT_TRUE(client.CreateBucket("bkt").ok());
  EXPECT_EQ(CodeOf(client.CreateBucket("bkt")), "BucketAlreadyOwnedByYou");
  EXPECT_EQ(CodeOf(client.PutObject("bkt", std::string(1025, 'k'), "v").status()),
            "KeyTooLongError");
  // Keys are UTF-8; other bytes are InvalidURI, as S3 answers (and nothing is stored).
  EXPECT_EQ(CodeOf(client.PutObject("bkt", "h\xFF", "v").status()), "InvalidURI");
  EXPECT_EQ(CodeOf(client.PutObject("bkt", "\xAE\x8A-", "v").status()), "InvalidURI");
  EXPECT_EQ(client.ListObjectsV2("bkt")->objects.size(), 0u);
}

}  // namespace
}  // namespace sparkify::store
