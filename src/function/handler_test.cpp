// The Lambda handler end to end in process, with fakes behind the pipeline: status codes,
// answer shapes per event form, failures as data, the log line.
#include "function/handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "function/test_fakes.h"
#include "vision/cutout.h"

namespace sparkify::function {
namespace {

using json = nlohmann::json;
using testing::MemoryStore;
using testing::RectModels;
using testing::TableFetcher;

std::string Png(int shade) {
  cv::Mat m(40, 40, CV_8UC3, cv::Scalar(shade, 255 - shade, (shade * 7) % 256));
  return *vision::EncodePng(vision::Image{m});
}

class ThrowingModels final : public SegmenterSource {
 public:
  Result<std::shared_ptr<vision::Segmenter>> ForSize(int) override {
    throw std::runtime_error("model exploded");
  }
  int default_size() const override { return 1024; }
};

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest() : models_(0.4) {
    for (int i = 0; i < 4; ++i) {
      std::string url = "https://img.example/";
      url += std::to_string(i);
      url += ".png";
      fetcher_.bodies[url] = Png(i * 60);
    }
    store_.objects["covers/a.png"] = {Png(200), "image/png", {}};
  }
  json Invoke(const std::string& payload, bool* ok = nullptr,
              std::chrono::milliseconds time_left = std::chrono::minutes(5)) {
    PipelineEnv env{&store_, &fetcher_, &models_, &Clock::System()};
    Pipeline pipeline(env, {});
    HandlerOptions options;
    options.log = [this](std::string_view line) { logs_.emplace_back(line); };
    FunctionHandler handler(&pipeline, options);
    lambda::InvocationContext ctx;
    ctx.request_id = "req-1";
    ctx.deadline = Clock::System().Now() + time_left;
    auto result = handler.AsLambdaHandler()(payload, ctx);
    if (ok) *ok = result.ok();
    if (!result.ok()) return json{{"type", result.error_type()}, {"message", result.error_message()}};
    return json::parse(result.payload());
  }

  MemoryStore store_;
  TableFetcher fetcher_;
  RectModels models_;
  std::vector<std::string> logs_;
};

TEST_F(HandlerTest, SeedsOriginalFormAnswersWithBodyObject) {
  json a = Invoke(R"({"body": {"urls": ["https://img.example/0.png", "https://img.example/1.png",
                                         "https://img.example/2.png"]}})");
  EXPECT_EQ(a["statusCode"], 200);
  ASSERT_TRUE(a["body"].is_object());
  const json& body = a["body"];
  EXPECT_EQ(body["cropped_image_data"].size() + body["uncropped_image_data"].size(), 3u);
  EXPECT_EQ(body["cropped_image_data"].size(), 2u);  // round(0.6 * 3)
  EXPECT_EQ(body["dominant_color"].size(), 3u);
  EXPECT_EQ(body["complementary_color"].size(), 3u);
  for (const json& e : body["cropped_image_data"]) {
    EXPECT_TRUE(e["key"].get<std::string>().starts_with("cutouts/"));
    EXPECT_TRUE(e["source"].get<std::string>().starts_with("https://img.example/"));
    EXPECT_TRUE(e.contains("rank"));
    EXPECT_TRUE(e.contains("colors"));
    EXPECT_TRUE(e.contains("score"));
    EXPECT_NEAR(e["foreground_share"].get<double>(), 0.4, 0.03);
  }
  EXPECT_TRUE(body["uncropped_image_data"][0]["url"].get<std::string>().starts_with("https://"));
  EXPECT_TRUE(body["errors"].empty());
}

TEST_F(HandlerTest, ApiGatewayAnswersWithAStringBody) {
  json ev = {{"requestContext", json::object()},
             {"isBase64Encoded", false},
             {"body", R"({"op": "segment", "keys": ["covers/a.png"]})"}};
  json a = Invoke(ev.dump());
  EXPECT_EQ(a["statusCode"], 200);
  EXPECT_EQ(a["headers"]["Content-Type"], "application/json");
  ASSERT_TRUE(a["body"].is_string());
  json body = json::parse(a["body"].get<std::string>());
  ASSERT_EQ(body["cropped_image_data"].size(), 1u);
  EXPECT_EQ(body["op"], "segment");
}

TEST_F(HandlerTest, BadEventIs400SayingWhatIsWrong) {
  json a = Invoke(R"({"body": {"urls": [42]}})");
  EXPECT_EQ(a["statusCode"], 400);
  EXPECT_EQ(a["body"]["error"], "InvalidRequest");
  EXPECT_EQ(a["body"]["message"], "urls[0] must be a string, got number");

  json g = Invoke(R"({"body": "not json", "requestContext": {}})");
  EXPECT_EQ(g["statusCode"], 400);
  ASSERT_TRUE(g["body"].is_string());
  EXPECT_EQ(json::parse(g["body"].get<std::string>())["error"], "InvalidRequest");
}

TEST_F(HandlerTest, SizeTheModelRefusesIs400) {
  json a = Invoke(R"({"keys": ["covers/a.png"], "options": {"size": 320}})");
  EXPECT_EQ(a["statusCode"], 400);
  EXPECT_NE(a["body"]["message"].get<std::string>().find("320"), std::string::npos);
}

TEST_F(HandlerTest, NothingUsableIs422WithEveryReason) {
  json a = Invoke(R"({"urls": ["https://img.example/missing.png"], "keys": ["nope.png"]})");
  EXPECT_EQ(a["statusCode"], 422);
  EXPECT_EQ(a["body"]["error"], "NoUsableInput");
  ASSERT_EQ(a["body"]["errors"].size(), 2u);
  EXPECT_EQ(a["body"]["errors"][0]["url"], "https://img.example/missing.png");
  EXPECT_EQ(a["body"]["errors"][0]["stage"], "fetch");
  EXPECT_EQ(a["body"]["errors"][1]["key"], "nope.png");
  // Lambda's invocation succeeded, but the log says the request was refused.
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_EQ(json::parse(logs_[0])["level"], "warning") << logs_[0];
  EXPECT_EQ(json::parse(logs_[0])["status"], 422) << logs_[0];
}

TEST_F(HandlerTest, AnUnreadableBucketIs502BeforeAnyModelRun) {
  store_.fail_heads = true;
  json a = Invoke(R"({"urls": ["https://img.example/0.png", "https://img.example/1.png"]})");
  EXPECT_EQ(a["statusCode"], 502);
  EXPECT_EQ(a["body"]["error"], "StoreUnavailable");
  EXPECT_EQ(a["body"]["message"], "cannot read the bucket memory://bucket: HEAD failed (injected)");
  EXPECT_EQ(models_.runs(), 0);
  ASSERT_FALSE(logs_.empty());
  EXPECT_EQ(json::parse(logs_.back())["level"], "error") << logs_.back();
}

TEST_F(HandlerTest, NoTimeForAnyCoverIs504NotTheInputsFault) {
  // 2.5 s left: under the 2 s reserve plus the first model run's 1.5 s estimate.
  json a = Invoke(R"({"op": "segment", "urls": ["https://img.example/0.png"]})", nullptr,
                  std::chrono::milliseconds(2500));
  EXPECT_EQ(a["statusCode"], 504);
  EXPECT_EQ(a["body"]["error"], "DeadlineExceeded");
  ASSERT_EQ(a["body"]["errors"].size(), 1u);
  EXPECT_EQ(a["body"]["errors"][0]["stage"], "deadline");
  EXPECT_EQ(models_.runs(), 0);
}

TEST_F(HandlerTest, AHugeBadTokenIsNotEchoedBack) {
  const std::string token(6 << 20, 'x');
  json a = Invoke(R"({"body": {"urls": ["https://img.example/0.png"], ")" + token + R"(": 1}})");
  EXPECT_EQ(a["statusCode"], 400);
  const std::string message = a["body"]["message"];
  EXPECT_LT(message.size(), 500u);
  EXPECT_NE(message.find("unknown field"), std::string::npos) << message;
  EXPECT_NE(message.find("bytes of message cut"), std::string::npos) << message;
  json b = Invoke("{\"urls\": [\"" + token);  // an unterminated 6 MB string
  EXPECT_EQ(b["statusCode"], 400);
  EXPECT_LT(b["body"]["message"].get<std::string>().size(), 500u);
}

TEST_F(HandlerTest, ExceptionsBecomeFunctionErrors) {
  ThrowingModels throwing;
  PipelineEnv env{&store_, &fetcher_, &throwing, &Clock::System()};
  Pipeline pipeline(env, {});
  FunctionHandler handler(&pipeline);
  lambda::InvocationContext ctx;
  auto r = handler.Handle(R"({"keys": ["covers/a.png"]})", ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_type(), "Function.InternalError");
  EXPECT_EQ(r.error_message(), "model exploded");
}

TEST_F(HandlerTest, OneLogLineWithoutPayloadOrUrls) {
  (void)Invoke(R"({"body": {"urls": ["https://img.example/0.png", "https://img.example/secret.png"]}})");
  ASSERT_EQ(logs_.size(), 1u);
  json line = json::parse(logs_[0]);
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["inputs"], 2);
  EXPECT_EQ(line["errors"], 1);
  EXPECT_EQ(logs_[0].find("img.example"), std::string::npos) << logs_[0];
}

}  // namespace
}  // namespace sparkify::function
