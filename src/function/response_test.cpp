#include "function/response.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sparkify::function {
namespace {

using json = nlohmann::json;

InputError Error(InputRef in, const std::string& stage, const std::string& reason) {
  InputError e;
  e.input = std::move(in);
  e.stage = stage;
  e.reason = reason;
  return e;
}

PipelineResult SampleResult() {
  PipelineResult r;
  r.op = Operation::kCollage;
  CoverResult cut;
  cut.input = InputRef{InputRef::Kind::kUrl, "https://img.example/a.jpg", 3};
  cut.palette = {{{200, 10, 10}, 0.6}, {{0, 0, 0}, 0.4}};
  cut.score = 12.345678;
  cut.position = 0;
  cut.cutout_key = "cutouts/abc-isnet-1024.png";
  cut.foreground_share = 0.421234;
  cut.cropped = true;
  cut.cache_hit = true;
  r.cropped.push_back(cut);
  CoverResult plain;
  plain.input = InputRef{InputRef::Kind::kKey, "covers/b.png", 1};
  plain.palette = {{{1, 2, 3}, 1.0}};
  plain.score = 3;
  plain.position = 1;
  r.uncropped.push_back(plain);
  r.dominant = collage::Rgb{200, 10, 10};
  r.complementary = collage::Rgb{55, 245, 245};
  r.errors.push_back(Error(InputRef{InputRef::Kind::kUrl, "https://img.example/bad.jpg", 2},
                           "decode", "not an image"));
  r.stats.model = "isnet@1024";
  return r;
}

TEST(RenderResult, OriginalFormKeepsBodyAnObject) {
  json answer = json::parse(RenderResult(EventForm::kOriginal, SampleResult()));
  EXPECT_EQ(answer["statusCode"], 200);
  ASSERT_TRUE(answer["body"].is_object());
  const json& body = answer["body"];
  EXPECT_EQ(body["dominant_color"], json::array({200, 10, 10}));
  EXPECT_EQ(body["complementary_color"], json::array({55, 245, 245}));
  ASSERT_EQ(body["cropped_image_data"].size(), 1u);
  const json& c = body["cropped_image_data"][0];
  EXPECT_EQ(c["key"], "cutouts/abc-isnet-1024.png");
  EXPECT_EQ(c["source"], "https://img.example/a.jpg");
  EXPECT_FALSE(c.contains("url"));
  EXPECT_EQ(c["rank"], 3);
  EXPECT_DOUBLE_EQ(c["score"].get<double>(), 12.3457);
  EXPECT_DOUBLE_EQ(c["foreground_share"].get<double>(), 0.4212);
  EXPECT_EQ(c["cached"], true);
  EXPECT_EQ(c["colors"][0]["rgb"], json::array({200, 10, 10}));
  EXPECT_DOUBLE_EQ(c["colors"][0]["share"].get<double>(), 0.6);
  const json& u = body["uncropped_image_data"][0];
  EXPECT_EQ(u["key"], "covers/b.png");  // a key input stays a key
  EXPECT_FALSE(u.contains("foreground_share"));
  EXPECT_FALSE(u.contains("cached"));
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["url"], "https://img.example/bad.jpg");
  EXPECT_EQ(body["errors"][0]["stage"], "decode");
  EXPECT_EQ(body["errors"][0]["reason"], "not an image");
  EXPECT_EQ(body["op"], "collage");
  EXPECT_EQ(body["model"], "isnet@1024");
}

TEST(RenderResult, ApiGatewayBodyIsAJsonString) {
  json answer = json::parse(RenderResult(EventForm::kApiGateway, SampleResult()));
  EXPECT_EQ(answer["statusCode"], 200);
  EXPECT_EQ(answer["isBase64Encoded"], false);
  EXPECT_EQ(answer["headers"]["Content-Type"], "application/json");
  ASSERT_TRUE(answer["body"].is_string());
  json body = json::parse(answer["body"].get<std::string>());
  EXPECT_EQ(body["cropped_image_data"][0]["key"], "cutouts/abc-isnet-1024.png");
}

TEST(RenderResult, SegmentHasNoColours) {
  PipelineResult r;
  r.op = Operation::kSegment;
  CoverResult c;
  c.input = InputRef{InputRef::Kind::kKey, "k.png", 0};
  c.cutout_key = "cutouts/x.png";
  c.foreground_share = 0.05;
  r.uncropped.push_back(c);
  json body = json::parse(RenderResult(EventForm::kDirect, r))["body"];
  EXPECT_FALSE(body.contains("dominant_color"));
  EXPECT_EQ(body["op"], "segment");
  EXPECT_EQ(body["uncropped_image_data"][0]["key"], "k.png");
  EXPECT_DOUBLE_EQ(body["uncropped_image_data"][0]["foreground_share"].get<double>(), 0.05);
  EXPECT_FALSE(body["uncropped_image_data"][0].contains("colors"));
}

TEST(RenderRefusal, ShapesPerForm) {
  json a =
      json::parse(RenderRefusal(EventForm::kOriginal, 400, "InvalidRequest", "urls[0] is empty"));
  EXPECT_EQ(a["statusCode"], 400);
  EXPECT_EQ(a["body"]["error"], "InvalidRequest");
  EXPECT_EQ(a["body"]["message"], "urls[0] is empty");
  EXPECT_FALSE(a["body"].contains("errors"));

  std::vector<InputError> errors = {
      Error(InputRef{InputRef::Kind::kKey, "k", 0}, "read", "NoSuchKey")};
  json g = json::parse(RenderRefusal(EventForm::kApiGateway, 422, "NoUsableInput", "none", errors));
  EXPECT_EQ(g["statusCode"], 422);
  json body = json::parse(g["body"].get<std::string>());
  EXPECT_EQ(body["errors"][0]["key"], "k");
}

TEST(RenderRefusal, InvalidUtf8IsReplacedNotThrown) {
  std::string answer = RenderRefusal(EventForm::kDirect, 400, "InvalidRequest", "bad \xff byte");
  EXPECT_TRUE(json::accept(answer));
}

}  // namespace
}  // namespace sparkify::function
