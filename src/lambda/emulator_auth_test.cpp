// Who may invoke: SigV4-signed requests against the store's IdentityStore, policies for
// lambda:InvokeFunction, and unsigned requests.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "iam/identity.h"
#include "lambda/emulator.h"
#include "lambda/test_util.h"
#include "sigv4/sigv4.h"

namespace sparkify::lambda {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::kRiePath;
using testing::LogCapture;
using testing::Post;

const sigv4::Credentials kRoot{"ROOTKEYFORLAMBDATEST", "rootsecret/for/the/lambda/emulator/test",
                               ""};

constexpr const char* kInvokerPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                 "Resource": "arn:aws:lambda:us-east-1:000000000000:function:function"}]})";
constexpr const char* kReaderPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})";

class EmulatorAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lambda-auth-" + std::to_string(::getpid()) + "-" + HexEncode(RandomBytes(4)));
    auto ids = iam::IdentityStore::Open(dir_.string(), kRoot);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    identities_ = std::move(*ids);
    auto invoker = identities_->EnsureUser("invoker", kInvokerPolicy);
    ASSERT_TRUE(invoker.ok()) << invoker.status().ToString();
    invoker_ = {invoker->access_key_id, invoker->secret_access_key, ""};
    auto reader = identities_->EnsureUser("reader", kReaderPolicy);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = {reader->access_key_id, reader->secret_access_key, ""};
  }
  void TearDown() override {
    emu_.reset();
    identities_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartEmulator(bool allow_unsigned = true) {
    EmulatorOptions options = testing::WorkerOptions(&log_);
    options.identities = identities_.get();
    options.allow_unsigned_loopback = allow_unsigned;
    emu_ = testing::StartOrDie(options);
    ASSERT_TRUE(emu_);
  }

  // Signs like an AWS SDK would for Lambda (no x-amz-content-sha256 header).
  testing::Reply SignedPost(const sigv4::Credentials& creds, const std::string& body,
                            std::vector<std::string> extra = {},
                            const std::string& region = "us-east-1") {
    std::string host = "127.0.0.1:" + std::to_string(emu_->port());
    sigv4::SignRequest req;
    req.method = "POST";
    req.scheme = "http";
    req.host = host;
    req.decoded_path = kRiePath;
    req.payload_hash = Sha256Hex(body);
    req.region = region;
    req.service = "lambda";
    req.time = Clock::System().Now();
    for (const auto& h : extra) {
      size_t colon = h.find(':');
      req.headers.emplace_back(h.substr(0, colon), h.substr(colon + 2));
    }
    for (const auto& [name, value] : sigv4::SignHeaders(req, creds)) {
      if (name == "host" || name == "Host") continue;  // curl sends the same Host
      extra.push_back(name + ": " + value);
    }
    return Post(emu_->port(), kRiePath, body, extra);
  }

  fs::path dir_;
  std::unique_ptr<iam::IdentityStore> identities_;
  sigv4::Credentials invoker_, reader_;
  LogCapture log_;
  std::unique_ptr<Emulator> emu_;
};

TEST_F(EmulatorAuthTest, RootAndAllowedUsersMayInvoke) {
  StartEmulator();
  auto root = SignedPost(kRoot, R"({"op":"echo","who":"root"})");
  EXPECT_EQ(root.status, 200) << root.body;
  EXPECT_EQ(root.body, R"({"op":"echo","who":"root"})");
  auto invoker = SignedPost(invoker_, R"({"who":"invoker"})");
  EXPECT_EQ(invoker.status, 200) << invoker.body;
  auto dry = SignedPost(invoker_, "{}", {"X-Amz-Invocation-Type: DryRun"});
  EXPECT_EQ(dry.status, 204) << dry.body;
}

TEST_F(EmulatorAuthTest, PolicyWithoutInvokeFunctionIsDenied) {
  StartEmulator();
  auto r = SignedPost(reader_, "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "AccessDeniedException");
  json body = json::parse(r.body);
  EXPECT_NE(body["Message"].get<std::string>().find(
                "is not authorized to perform: lambda:InvokeFunction on resource: "
                "arn:aws:lambda:us-east-1:000000000000:function:function"),
            std::string::npos)
      << r.body;
  // DryRun is checked too, and nothing ran.
  EXPECT_EQ(SignedPost(reader_, "{}", {"X-Amz-Invocation-Type: DryRun"}).status, 403);
  EXPECT_EQ(emu_->stats().invocations, 0u);
}

TEST_F(EmulatorAuthTest, BadSignatureIsRefused) {
  StartEmulator();
  sigv4::Credentials wrong = invoker_;
  wrong.secret_access_key = "not-the-secret-at-all-not-the-secret-at";
  auto r = SignedPost(wrong, "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "InvalidSignatureException");
  EXPECT_EQ(json::parse(r.body)["Type"], "User");
  // A body changed after signing breaks the signature as well.
  std::string host = "127.0.0.1:" + std::to_string(emu_->port());
  sigv4::SignRequest req;
  req.method = "POST";
  req.scheme = "http";
  req.host = host;
  req.decoded_path = kRiePath;
  req.payload_hash = Sha256Hex("{}");
  req.service = "lambda";
  req.time = Clock::System().Now();
  std::vector<std::string> headers;
  for (const auto& [name, value] : sigv4::SignHeaders(req, invoker_)) {
    if (name != "host") headers.push_back(name + ": " + value);
  }
  EXPECT_EQ(
      Post(emu_->port(), kRiePath, R"({"tampered":true})", headers).Header("x-amzn-errortype"),
      "InvalidSignatureException");
  // Signed for another region.
  EXPECT_EQ(SignedPost(invoker_, "{}", {}, "eu-west-1").Header("x-amzn-errortype"),
            "InvalidSignatureException");
}

TEST_F(EmulatorAuthTest, UnknownKeyIsUnrecognized) {
  StartEmulator();
  auto r =
      SignedPost({"AKIDNOBODYHASTHIS000", "whatever-secret-whatever-secret-whatever", ""}, "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "UnrecognizedClientException");
  EXPECT_EQ(json::parse(r.body)["message"],
            "The security token included in the request is invalid.");
  // The operator learns of it too: which key, from where; never the secret.
  EXPECT_TRUE(log_.Contains("EMULATOR invoke refused: UnrecognizedClientException"));
  EXPECT_TRUE(log_.Contains("access key AKIDNOBODYHASTHIS000"));
  EXPECT_TRUE(log_.Contains("from 127.0.0.1"));
  EXPECT_FALSE(log_.Contains("whatever-secret"));
}

TEST_F(EmulatorAuthTest, RefusalsAreLoggedWithoutWhatTheClientCouldInject) {
  StartEmulator(/*allow_unsigned=*/false);
  EXPECT_EQ(Post(emu_->port(), kRiePath, "{}").status, 403);
  EXPECT_TRUE(log_.Contains("MissingAuthenticationTokenException"));
  EXPECT_TRUE(log_.Contains(", unsigned, "));
  // A Credential with a tab and more (a line break never gets past the HTTP parser): the key
  // id stops at the first character that is not a letter or digit.
  auto r = Post(emu_->port(), kRiePath, "{}",
                {"Authorization: AWS4-HMAC-SHA256 Credential=AKIDFAKE\tEMULATOR forged/x, "
                 "SignedHeaders=host, Signature=00"});
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(log_.Contains("access key AKIDFAKE, "));
  EXPECT_FALSE(log_.Contains("forged"));
  EXPECT_EQ(Post(emu_->port(), kRiePath, "{}", {"Authorization: Bearer abc"}).status, 403);
  EXPECT_TRUE(log_.Contains("an Authorization header without a Credential"));
  EXPECT_FALSE(log_.Contains("\t"));
}

TEST_F(EmulatorAuthTest, UnsignedInvokesFollowTheLoopbackFlag) {
  StartEmulator(/*allow_unsigned=*/true);
  EXPECT_EQ(Post(emu_->port(), kRiePath, "{}").status, 200);
  emu_.reset();
  StartEmulator(/*allow_unsigned=*/false);
  auto r = Post(emu_->port(), kRiePath, "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "MissingAuthenticationTokenException");
  EXPECT_EQ(SignedPost(kRoot, "{}").status, 200);
}

TEST(EmulatorNoKeysTest, SignedInvokesFailWithoutAnIdentityStore) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  sigv4::SignRequest req;
  req.method = "POST";
  req.scheme = "http";
  req.host = "127.0.0.1:" + std::to_string(emu->port());
  req.decoded_path = kRiePath;
  req.payload_hash = Sha256Hex("{}");
  req.service = "lambda";
  req.time = Clock::System().Now();
  std::vector<std::string> headers;
  for (const auto& [name, value] : sigv4::SignHeaders(req, kRoot)) {
    if (name != "host") headers.push_back(name + ": " + value);
  }
  auto r = Post(emu->port(), kRiePath, "{}", headers);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "UnrecognizedClientException");
}

}  // namespace
}  // namespace sparkify::lambda
