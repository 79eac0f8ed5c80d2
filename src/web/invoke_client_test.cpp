// InvokeClient against an in-process invoke endpoint on loopback (http::Server) that verifies
// the SigV4 signature (service "lambda") and answers as Lambda does.
#include "web/internal/invoke_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/crypto.h"
#include "http/http.h"

namespace sparkify::web::internal {
namespace {

const sigv4::Credentials kKey{"AKIDWEBTEST", "web-secret-for-the-test", ""};

class FakeLambda {
 public:
  // `answer` decides the response for a verified request.
  explicit FakeLambda(std::function<http::Response(const std::string& body)> answer)
      : answer_(std::move(answer)) {
    auto server = http::Server::Start({}, [this](http::Request& req) { return Handle(req); });
    EXPECT_TRUE(server.ok());
    server_ = std::move(*server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::string last_path;
  std::atomic<int> verified{0};

 private:
  http::Response Handle(http::Request& req) {
    auto body = req.ReadAll(1 << 20);
    http::Response res;
    if (!body.ok()) return res;
    last_path = req.path;
    std::string sha = Sha256Hex(*body);
    sigv4::IncomingRequest in;
    in.method = req.method;
    in.raw_path = req.path;
    in.raw_query = req.query;
    in.headers = &req.headers;
    in.body_sha256_hex = sha;
    sigv4::VerifyOptions options;
    options.service = "lambda";
    options.region = "us-east-1";
    options.require_content_sha256 = false;
    auto outcome = sigv4::Verify(
        in,
        [](std::string_view id) -> std::optional<sigv4::KeyInfo> {
          if (id != kKey.access_key_id) return std::nullopt;
          return sigv4::KeyInfo{kKey.secret_access_key, ""};
        },
        options);
    if (!outcome.ok() || outcome.verified->type != sigv4::AuthType::kHeader) {
      res.status = 403;
      res.body = R"({"message":"The request signature we calculated does not match"})";
      return res;
    }
    ++verified;
    return answer_(*body);
  }

  std::function<http::Response(const std::string&)> answer_;
  std::unique_ptr<http::Server> server_;
};

FunctionTarget Local(const std::string& url) {
  FunctionTarget t;
  t.url = url;
  t.timeout = std::chrono::seconds(10);
  return t;
}

TEST(InvokeClient, SignsForLambdaAndReturnsTheBody) {
  FakeLambda lambda([](const std::string& body) {
    http::Response res;
    auto event = nlohmann::json::parse(body);
    res.body = nlohmann::json{{"statusCode", 200}, {"body", {{"echo", event["op"]}}}}.dump();
    return res;
  });
  InvokeClient client(Local(lambda.url()), kKey);
  auto answer = client.Invoke(R"({"op":"segment","keys":["uploads/a.png"]})");
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(nlohmann::json::parse(*answer)["echo"], "segment");
  EXPECT_EQ(lambda.verified.load(), 1);
  EXPECT_EQ(lambda.last_path, "/2015-03-31/functions/function/invocations");
  EXPECT_EQ(client.invocations(), 1u);
}

TEST(InvokeClient, AWrongKeyIsPermissionDenied) {
  FakeLambda lambda([](const std::string&) { return http::Response{}; });
  InvokeClient client(Local(lambda.url()), {"AKIDWEBTEST", "not-the-secret", ""});
  auto answer = client.Invoke("{}");
  EXPECT_EQ(answer.status().code(), Status::Code::kPermissionDenied);
}

TEST(InvokeClient, FunctionErrorsAreReportedWithTheirMessage) {
  FakeLambda lambda([](const std::string&) {
    http::Response res;
    res.Set("X-Amz-Function-Error", "Unhandled");
    res.body = R"({"errorMessage":"model exploded","errorType":"Runtime.ExitError"})";
    return res;
  });
  InvokeClient client(Local(lambda.url()), kKey);
  auto answer = client.Invoke("{}");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Status::Code::kInternal);
  EXPECT_NE(answer.status().message().find("Runtime.ExitError: model exploded"), std::string::npos)
      << answer.status().message();
}

TEST(InvokeClient, RefusalsInTheAnswerAreErrors) {
  FakeLambda lambda([](const std::string&) {
    http::Response res;
    res.body = R"({"statusCode":400,"body":{"error":"InvalidEvent","message":"keys[0] bad"}})";
    return res;
  });
  InvokeClient client(Local(lambda.url()), kKey);
  auto answer = client.Invoke("{}");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.status().message().find("keys[0] bad"), std::string::npos);
}

TEST(InvokeClient, BadlyTypedAnswersAreErrorsNotExceptions) {
  const char* answers[] = {
      R"({"statusCode":"200","body":{}})",
      R"({"statusCode":400.5,"body":{}})",
      R"({"statusCode":500,"body":{"message":7}})",
      R"({"statusCode":[],"body":"x"})",
  };
  for (const char* text : answers) {
    FakeLambda lambda([&](const std::string&) {
      http::Response res;
      res.body = text;
      return res;
    });
    InvokeClient client(Local(lambda.url()), kKey);
    Result<std::string> answer = Status::Internal("not invoked");
    ASSERT_NO_THROW(answer = client.Invoke("{}")) << text;
    EXPECT_EQ(answer.status().code(), Status::Code::kInternal) << text;
  }
  FakeLambda typed_error([](const std::string&) {
    http::Response res;
    res.Set("X-Amz-Function-Error", "Unhandled");
    res.body = R"({"errorMessage":{"a":1},"errorType":5,"message":"plain"})";
    return res;
  });
  InvokeClient client(Local(typed_error.url()), kKey);
  Result<std::string> answer = Status::Internal("not invoked");
  ASSERT_NO_THROW(answer = client.Invoke("{}"));
  EXPECT_NE(answer.status().message().find("plain"), std::string::npos)
      << answer.status().message();
}

TEST(InvokeClient, A422ListingInputErrorsIsTheAnswer) {
  FakeLambda lambda([](const std::string& body) {
    http::Response res;
    bool with_errors = body.find("listed") != std::string::npos;
    res.body = with_errors ? R"({"statusCode":422,"body":{"error":"NoUsableInput","message":"m",)"
                             R"("errors":[{"key":"k","stage":"decode","reason":"truncated"}]}})"
                           : R"({"statusCode":422,"body":{"error":"NoUsableInput","message":"m"}})";
    return res;
  });
  InvokeClient client(Local(lambda.url()), kKey);
  auto answer = client.Invoke(R"({"op":"listed"})");
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(nlohmann::json::parse(*answer)["errors"][0]["reason"], "truncated");
  auto bare = client.Invoke("{}");
  EXPECT_EQ(bare.status().code(), Status::Code::kInternal);
}

TEST(InvokeClient, AnUnreachableEndpointIsTheFunctionDown) {
  std::string url;
  {
    FakeLambda gone([](const std::string&) { return http::Response{}; });
    url = gone.url();
  }  // stopped: nothing listens there now
  InvokeClient client(Local(url), kKey);
  auto answer = client.Invoke("{}");
  EXPECT_EQ(answer.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(answer.status().message().find("the AI function is down"), std::string::npos);
}

TEST(InvokeClient, ACancelledCallEndsAtOnce) {
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool answering = false, released = false;
  FakeLambda slow([&](const std::string&) {
    std::unique_lock lock(mu);
    answering = true;
    cv.notify_all();
    // Holds the answer until the test is over (bounded, so a broken cancel fails, not hangs).
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
    return http::Response{};
  });
  InvokeClient client(Local(slow.url()), kKey);
  std::thread stopper([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answering; });
    cancel = true;
  });
  auto started = std::chrono::steady_clock::now();
  auto answer = client.Invoke("{}", &cancel);
  stopper.join();
  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  EXPECT_EQ(answer.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(answer.status().message().find("stopping"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(InvokeClient, AwsTargetsByNameAndRegion) {
  FunctionTarget t;
  t.name = "sparkify-function";
  t.region = "eu-west-1";
  InvokeClient client(t, kKey);
  EXPECT_EQ(client.url(),
            "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/sparkify-function/"
            "invocations");
}

}  // namespace
}  // namespace sparkify::web::internal
