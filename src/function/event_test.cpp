#include "function/event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/crypto.h"

namespace sparkify::function {
namespace {

using json = nlohmann::json;

std::string Urls(int n) {
  json urls = json::array();
  for (int i = 0; i < n; ++i) urls.push_back("https://img.example/" + std::to_string(i) + ".jpg");
  return urls.dump();
}

// --- Accepted events ----------------------------------------------------------------------

TEST(ParseEvent, OriginalFormWithBodyObject) {
  ParsedEvent e = ParseEvent(R"({"body": {"urls": ["https://a.example/1.jpg", "http://b.example/2.png"]}})");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.form, EventForm::kOriginal);
  EXPECT_EQ(e.request.op, Operation::kCollage);
  ASSERT_EQ(e.request.inputs.size(), 2u);
  EXPECT_TRUE(e.request.inputs[0].is_url());
  EXPECT_EQ(e.request.inputs[0].value, "https://a.example/1.jpg");
  EXPECT_EQ(e.request.inputs[0].rank, 0);
  EXPECT_EQ(e.request.inputs[1].rank, 1);
  EXPECT_TRUE(e.request.dropped.empty());
  EXPECT_EQ(e.request.options.size, 0);
  EXPECT_FALSE(e.request.options.seed);
  EXPECT_FALSE(e.request.options.threshold);
  EXPECT_EQ(e.request.options.max_covers, 30);
}

TEST(ParseEvent, ApiGatewayV1StringBody) {
  json ev = {{"resource", "/collage"},
             {"httpMethod", "POST"},
             {"headers", {{"content-type", "application/json"}}},
             {"requestContext", {{"stage", "prod"}}},
             {"isBase64Encoded", false},
             {"body", R"({"op": "segment", "keys": ["covers/a.jpg"]})"}};
  ParsedEvent e = ParseEvent(ev.dump());
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.form, EventForm::kApiGateway);
  EXPECT_EQ(e.request.op, Operation::kSegment);
  ASSERT_EQ(e.request.inputs.size(), 1u);
  EXPECT_FALSE(e.request.inputs[0].is_url());
  EXPECT_EQ(e.request.inputs[0].value, "covers/a.jpg");
}

TEST(ParseEvent, ApiGatewayV2Base64Body) {
  json ev = {{"version", "2.0"},
             {"routeKey", "POST /collage"},
             {"isBase64Encoded", true},
             {"body", Base64Encode(R"({"urls": ["https://x.example/c.webp"], "options": {"seed": 7}})")}};
  ParsedEvent e = ParseEvent(ev.dump());
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.form, EventForm::kApiGateway);
  ASSERT_EQ(e.request.inputs.size(), 1u);
  EXPECT_EQ(e.request.options.seed, 7u);
}

TEST(ParseEvent, StringBodyWithoutApiGatewayFieldsIsStillApiGateway) {
  ParsedEvent e = ParseEvent(R"({"body": "{\"urls\": [\"https://a.example/x\"]}"})");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.form, EventForm::kApiGateway);
}

TEST(ParseEvent, DirectFormUrlsThenKeysRanked) {
  ParsedEvent e = ParseEvent(R"({"op": "collage", "urls": ["https://a.example/1"],
                                 "keys": ["k/1.png", "k/2.png"],
                                 "options": {"size": 512, "seed": 18446744073709551615,
                                             "threshold": 0.25, "max_covers": 12}})");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.form, EventForm::kDirect);
  ASSERT_EQ(e.request.inputs.size(), 3u);
  EXPECT_TRUE(e.request.inputs[0].is_url());
  EXPECT_EQ(e.request.inputs[1].value, "k/1.png");
  EXPECT_EQ(e.request.inputs[2].rank, 2);
  EXPECT_EQ(e.request.options.size, 512);
  EXPECT_EQ(e.request.options.seed, UINT64_MAX);
  EXPECT_DOUBLE_EQ(*e.request.options.threshold, 0.25);
  EXPECT_EQ(e.request.options.max_covers, 12);
}

TEST(ParseEvent, ThresholdBoundsAndIntegerValuesAccepted) {
  for (const char* t : {"0", "1", "0.5", "1.0"}) {
    ParsedEvent e = ParseEvent(std::string(R"({"keys": ["a"], "options": {"threshold": )") + t + "}}");
    EXPECT_TRUE(e.status.ok()) << t << ": " << e.status.ToString();
  }
}

TEST(ParseEvent, DuplicatesDroppedAndRanksStayDense) {
  ParsedEvent e = ParseEvent(R"({"urls": ["https://a.example/1", "https://a.example/1",
                                          "https://a.example/2"], "keys": ["https://a.example/1"]})");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  ASSERT_EQ(e.request.inputs.size(), 3u);  // a key equal to a URL is a different input
  EXPECT_EQ(e.request.inputs[1].value, "https://a.example/2");
  EXPECT_EQ(e.request.inputs[1].rank, 1);
  EXPECT_FALSE(e.request.inputs[2].is_url());
  EXPECT_EQ(e.request.inputs[2].rank, 2);
}

TEST(ParseEvent, InputsBeyondMaxCoversAreDroppedNotRefused) {
  ParsedEvent e = ParseEvent(R"({"body": {"urls": )" + Urls(35) + "}}");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.request.inputs.size(), 30u);
  ASSERT_EQ(e.request.dropped.size(), 5u);
  EXPECT_EQ(e.request.dropped[0].rank, 30);

  e = ParseEvent(R"({"urls": )" + Urls(5) + R"(, "options": {"max_covers": 2}})");
  ASSERT_TRUE(e.status.ok()) << e.status.ToString();
  EXPECT_EQ(e.request.inputs.size(), 2u);
  EXPECT_EQ(e.request.dropped.size(), 3u);
}

TEST(ParseEvent, UppercaseSchemeAccepted) {
  EXPECT_TRUE(ParseEvent(R"({"urls": ["HTTPS://A.EXAMPLE/X.JPG"]})").status.ok());
}

// --- Refused events: every malformed case, with the form of the answer and the message ----

struct BadCase {
  const char* name;
  std::string payload;
  EventForm form;
  const char* message;  // a substring of the error
};

std::vector<BadCase> BadCases() {
  const std::string long_url = "https://a.example/" + std::string(4100, 'x');
  const std::string long_key(1025, 'k');
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  return {
      {"empty", "", EventForm::kDirect, "empty event"},
      {"blank", " \n\t", EventForm::kDirect, "empty event"},
      {"not_json", "{\"body\": ", EventForm::kDirect, "the event is not valid JSON"},
      {"garbage", "hello", EventForm::kDirect, "the event is not valid JSON"},
      {"array", "[]", EventForm::kDirect, "must be a JSON object, got array"},
      {"number", "42", EventForm::kDirect, "must be a JSON object, got number"},
      {"null", "null", EventForm::kDirect, "must be a JSON object, got null"},
      {"string", "\"urls\"", EventForm::kDirect, "must be a JSON object, got string"},
      {"too_deep", deep, EventForm::kDirect, "nests deeper than 64 levels"},
      {"body_number", R"({"body": 5})", EventForm::kOriginal, "\"body\" must be a JSON object"},
      {"body_array", R"({"body": []})", EventForm::kOriginal, "got array"},
      {"body_bool", R"({"body": true})", EventForm::kOriginal, "got boolean"},
      {"body_null", R"({"body": null})", EventForm::kOriginal, "got null"},
      {"body_empty_object", R"({"body": {}})", EventForm::kOriginal, "no inputs"},
      {"urls_string", R"({"body": {"urls": "https://a.example/x"}})", EventForm::kOriginal,
       "\"urls\" must be an array of strings, got string"},
      {"urls_object", R"({"body": {"urls": {}}})", EventForm::kOriginal, "got object"},
      {"url_number", R"({"body": {"urls": ["https://a.example/x", 1]}})", EventForm::kOriginal,
       "urls[1] must be a string, got number"},
      {"url_null", R"({"body": {"urls": [null]}})", EventForm::kOriginal,
       "urls[0] must be a string, got null"},
      {"url_empty", R"({"body": {"urls": [""]}})", EventForm::kOriginal, "urls[0] is empty"},
      {"url_ftp", R"({"body": {"urls": ["ftp://a.example/x"]}})", EventForm::kOriginal,
       "urls[0] must be an http:// or https:// URL"},
      {"url_relative", R"({"body": {"urls": ["/covers/a.jpg"]}})", EventForm::kOriginal,
       "must be an http:// or https:// URL"},
      {"url_file", R"({"urls": ["file:///etc/passwd"]})", EventForm::kDirect,
       "must be an http:// or https:// URL"},
      {"url_space", R"({"body": {"urls": ["https://a.example/a b.jpg"]}})", EventForm::kOriginal,
       "space or control character"},
      {"url_newline", R"({"urls": ["https://a.example/\n"]})", EventForm::kDirect,
       "space or control character"},
      {"url_too_long", R"({"urls": [")" + long_url + R"("]})", EventForm::kDirect,
       "longer than 4096 bytes"},
      {"keys_number", R"({"keys": 3})", EventForm::kDirect, "\"keys\" must be an array of strings"},
      {"key_empty", R"({"keys": [""]})", EventForm::kDirect, "keys[0] is empty"},
      {"key_object", R"({"keys": ["a", {}]})", EventForm::kDirect,
       "keys[1] must be a string, got object"},
      {"key_too_long", R"({"keys": [")" + long_key + R"("]})", EventForm::kDirect,
       "longer than 1024 bytes"},
      {"no_inputs", R"({"body": {"urls": [], "keys": []}})", EventForm::kOriginal, "no inputs"},
      {"null_inputs", R"({"urls": null})", EventForm::kDirect, "no inputs"},
      {"too_many_urls", R"({"urls": )" + Urls(201) + "}", EventForm::kDirect, "at most 200"},
      {"too_many_together",
       R"({"urls": )" + Urls(150) + R"(, "keys": )" + Urls(60) + "}",
       EventForm::kDirect, "too many inputs: 210"},
      {"unknown_field", R"({"body": {"urls": ["https://a.example/x"], "passcode": "x"}})",
       EventForm::kOriginal, "unknown field \"passcode\" in body"},
      {"unknown_top", R"({"url": ["https://a.example/x"]})", EventForm::kDirect,
       "unknown field \"url\" in the event"},
      {"both_body_and_urls", R"({"body": {"urls": ["https://a.example/x"]}, "urls": []})",
       EventForm::kOriginal, "both \"body\" and a top-level \"urls\""},
      {"op_number", R"({"op": 1, "keys": ["a"]})", EventForm::kDirect,
       "\"op\" must be a string, got number"},
      {"op_unknown", R"({"op": "resize", "keys": ["a"]})", EventForm::kDirect,
       "must be \"collage\" or \"segment\", got \"resize\""},
      {"op_case", R"({"op": "Collage", "keys": ["a"]})", EventForm::kDirect,
       "must be \"collage\" or \"segment\""},
      {"options_array", R"({"keys": ["a"], "options": []})", EventForm::kDirect,
       "\"options\" must be an object, got array"},
      {"size_string", R"({"keys": ["a"], "options": {"size": "512"}})", EventForm::kDirect,
       "options.size must be an integer, got string"},
      {"size_float", R"({"keys": ["a"], "options": {"size": 512.0}})", EventForm::kDirect,
       "options.size must be an integer, got number"},
      {"size_not_multiple", R"({"keys": ["a"], "options": {"size": 500}})", EventForm::kDirect,
       "options.size must be a multiple of 64 from 64 to 2048, got 500"},
      {"size_zero", R"({"keys": ["a"], "options": {"size": 0}})", EventForm::kDirect,
       "got 0"},
      {"size_negative", R"({"keys": ["a"], "options": {"size": -64}})", EventForm::kDirect,
       "got -64"},
      {"size_huge", R"({"keys": ["a"], "options": {"size": 4096}})", EventForm::kDirect,
       "got 4096"},
      {"seed_negative", R"({"keys": ["a"], "options": {"seed": -1}})", EventForm::kDirect,
       "options.seed must be a non-negative integer, got -1"},
      {"seed_float", R"({"keys": ["a"], "options": {"seed": 1.5}})", EventForm::kDirect,
       "options.seed must be a non-negative integer, got number"},
      {"seed_string", R"({"keys": ["a"], "options": {"seed": "7"}})", EventForm::kDirect,
       "got string"},
      {"threshold_string", R"({"keys": ["a"], "options": {"threshold": "0.1"}})",
       EventForm::kDirect, "options.threshold must be a number, got string"},
      {"threshold_high", R"({"keys": ["a"], "options": {"threshold": 1.5}})", EventForm::kDirect,
       "options.threshold must be between 0 and 1, got 1.5"},
      {"threshold_negative", R"({"keys": ["a"], "options": {"threshold": -0.1}})",
       EventForm::kDirect, "between 0 and 1"},
      {"max_covers_zero", R"({"keys": ["a"], "options": {"max_covers": 0}})", EventForm::kDirect,
       "options.max_covers must be from 1 to 30, got 0"},
      {"max_covers_high", R"({"keys": ["a"], "options": {"max_covers": 31}})", EventForm::kDirect,
       "got 31"},
      {"max_covers_float", R"({"keys": ["a"], "options": {"max_covers": 2.5}})",
       EventForm::kDirect, "options.max_covers must be an integer"},
      {"unknown_option", R"({"keys": ["a"], "options": {"sizes": 512}})", EventForm::kDirect,
       "unknown option \"sizes\""},
      {"apigw_no_body", R"({"requestContext": {}, "httpMethod": "POST"})",
       EventForm::kApiGateway, "has no body"},
      {"apigw_null_body", R"({"requestContext": {}, "body": null})", EventForm::kApiGateway,
       "has no body"},
      {"apigw_empty_body", R"({"body": "", "isBase64Encoded": false})", EventForm::kApiGateway,
       "body is empty"},
      {"apigw_blank_body", R"({"body": "  \n", "requestContext": {}})", EventForm::kApiGateway,
       "body is empty"},
      {"apigw_bad_json", R"({"body": "{urls: []}", "requestContext": {}})",
       EventForm::kApiGateway, "body is not valid JSON"},
      {"apigw_body_array", R"({"body": "[1,2]", "requestContext": {}})", EventForm::kApiGateway,
       "body must be a JSON object, got array"},
      {"apigw_body_no_inputs", R"({"body": "{}", "requestContext": {}})",
       EventForm::kApiGateway, "no inputs"},
      {"apigw_bad_base64", R"({"body": "@@not base64@@", "isBase64Encoded": true})",
       EventForm::kApiGateway, "not valid base64"},
      {"apigw_base64_flag_string", R"({"body": "{}", "isBase64Encoded": "yes"})",
       EventForm::kApiGateway, "\"isBase64Encoded\" must be true or false, got string"},
      {"apigw_base64_not_json",
       R"({"body": ")" + Base64Encode("not json") + R"(", "isBase64Encoded": true})",
       EventForm::kApiGateway, "body is not valid JSON"},
      {"apigw_base64_empty", R"({"body": "", "isBase64Encoded": true})", EventForm::kApiGateway,
       "body is empty"},
      {"apigw_inner_unknown", R"({"body": "{\"urls\": [\"https://a.example/x\"], \"x\": 1}"})",
       EventForm::kApiGateway, "unknown field \"x\" in body"},
      {"direct_empty", "{}", EventForm::kDirect, "no inputs"},
      {"direct_op_only", R"({"op": "segment"})", EventForm::kDirect, "no inputs"},
  };
}

class BadEvent : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadEvent, IsRefusedWithAClearMessage) {
  const BadCase& c = GetParam();
  ParsedEvent e = ParseEvent(c.payload);
  ASSERT_FALSE(e.status.ok()) << c.name;
  EXPECT_EQ(e.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(e.status.message().find(c.message), std::string::npos)
      << c.name << ": got \"" << e.status.message() << "\", want it to contain \"" << c.message
      << "\"";
  EXPECT_EQ(EventFormName(e.form), EventFormName(c.form)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(AllMalformed, BadEvent, ::testing::ValuesIn(BadCases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace sparkify::function
