#include "store/internal/cors.h"

#include <gtest/gtest.h>

namespace sparkify::store {
namespace {

constexpr char kTwoRules[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <ID>uploads</ID>
    <AllowedOrigin>https://app.example.com</AllowedOrigin>
    <AllowedOrigin>http://*.example.org</AllowedOrigin>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>Content-*</AllowedHeader>
    <AllowedHeader>x-amz-date</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
  </CORSRule>
</CORSConfiguration>)";

std::string HeaderOf(const http::HeaderList& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "(none)";
}

TEST(CorsTest, ParsesAndWritesAConfiguration) {
  auto config = ParseCorsConfiguration(kTwoRules);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->rules.size(), 2u);
  const CorsRule& r = config->rules[0];
  EXPECT_EQ(r.id, "uploads");
  EXPECT_EQ(r.allowed_origins,
            (std::vector<std::string>{"https://app.example.com", "http://*.example.org"}));
  EXPECT_EQ(r.allowed_methods, (std::vector<std::string>{"POST", "PUT"}));
  EXPECT_EQ(r.allowed_headers, (std::vector<std::string>{"content-*", "x-amz-date"}));
  EXPECT_EQ(r.expose_headers, (std::vector<std::string>{"ETag"}));
  EXPECT_EQ(r.max_age_seconds, 600);
  EXPECT_FALSE(config->rules[1].max_age_seconds.has_value());
  EXPECT_FALSE(CorsConfigurationProblem(*config).has_value());

  auto again = ParseCorsConfiguration(CorsConfigurationXml(*config));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(CorsConfigurationXml(*again), CorsConfigurationXml(*config));
}

TEST(CorsTest, RefusesWhatS3Refuses) {
  const char* malformed[] = {
      "<CORSConfiguration>",
      "<Other/>",
      "<CORSConfiguration/>",
      "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
      "</CORSConfiguration>",
      "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
      "</CORSConfiguration>",
      "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET"
      "</AllowedMethod><MaxAgeSeconds>ten</MaxAgeSeconds></CORSRule></CORSConfiguration>",
  };
  for (const char* xml : malformed) {
    EXPECT_FALSE(ParseCorsConfiguration(xml).ok()) << xml;
  }
  std::string many = "<CORSConfiguration>";
  for (size_t i = 0; i <= kMaxCorsRules; ++i) {
    many +=
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        "</CORSRule>";
  }
  EXPECT_FALSE(ParseCorsConfiguration(many + "</CORSConfiguration>").ok());

  auto problem = [](const std::string& rule) {
    auto c = ParseCorsConfiguration("<CORSConfiguration><CORSRule>" + rule +
                                    "</CORSRule></CORSConfiguration>");
    EXPECT_TRUE(c.ok()) << rule;
    return c.ok() ? CorsConfigurationProblem(*c) : std::nullopt;
  };
  EXPECT_EQ(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH");
  EXPECT_NE(problem("<AllowedOrigin>http://*.*.com</AllowedOrigin>"
                    "<AllowedMethod>GET</AllowedMethod>"),
            std::nullopt);
  EXPECT_NE(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                    "<AllowedHeader>*-*</AllowedHeader>"),
            std::nullopt);
  EXPECT_NE(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                    "<MaxAgeSeconds>-1</MaxAgeSeconds>"),
            std::nullopt);
  // What would break the answers' headers.
  EXPECT_NE(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                    "<ExposeHeader>ETag&#13;&#10;Set-Cookie: a=b</ExposeHeader>"),
            std::nullopt);
  EXPECT_NE(
      problem("<AllowedOrigin>http://a&#10;b</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
      std::nullopt);
  EXPECT_NE(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                    "<AllowedHeader>x y</AllowedHeader>"),
            std::nullopt);
  EXPECT_EQ(problem("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
            "Found unsupported HTTP method in CORS config. Unsupported method is get");
}

TEST(CorsTest, TheFirstRuleThatAllowsOriginMethodAndEveryHeaderAnswers) {
  auto config = ParseCorsConfiguration(kTwoRules);
  ASSERT_TRUE(config.ok());
  const CorsRule* uploads = &config->rules[0];
  const CorsRule* reads = &config->rules[1];
  EXPECT_EQ(MatchCorsRule(*config, "https://app.example.com", "POST", {}), uploads);
  EXPECT_EQ(MatchCorsRule(*config, "http://cdn.example.org", "PUT",
                          {"content-type", "x-amz-date", "content-md5"}),
            uploads);
  // Origins are case-sensitive; headers are not (they arrive lowercased from the split).
  EXPECT_EQ(MatchCorsRule(*config, "https://APP.example.com", "POST", {}), nullptr);
  EXPECT_EQ(MatchCorsRule(*config, "https://app.example.com", "POST", {"authorization"}), nullptr);
  EXPECT_EQ(MatchCorsRule(*config, "https://app.example.com", "DELETE", {}), nullptr);
  EXPECT_EQ(MatchCorsRule(*config, "http://example.org", "PUT", {}), nullptr);  // no "." before
  EXPECT_EQ(MatchCorsRule(*config, "https://evil.test", "GET", {}), reads);
  EXPECT_EQ(MatchCorsRule(*config, "https://evil.test", "GET", {"x-custom"}), nullptr);
  EXPECT_EQ(MatchCorsRule(*config, "https://app.example.com", "GET", {}), reads);
}

TEST(CorsTest, PrettyPrintedValuesAreTrimmed) {
  auto config = ParseCorsConfiguration(
      "<CORSConfiguration><CORSRule>\n  <AllowedOrigin>\n    http://app.test\n  </AllowedOrigin>"
      "\n  <AllowedMethod>\n GET\n</AllowedMethod></CORSRule></CORSConfiguration>");
  ASSERT_TRUE(config.ok());
  EXPECT_NE(MatchCorsRule(*config, "http://app.test", "GET", {}), nullptr);
}

TEST(CorsTest, SplitsRequestHeaders) {
  EXPECT_EQ(SplitRequestHeaders(" X-Amz-Date,content-type , ,Content-MD5"),
            (std::vector<std::string>{"x-amz-date", "content-type", "content-md5"}));
  EXPECT_TRUE(SplitRequestHeaders("").empty());
}

TEST(CorsTest, AnswerHeaders) {
  auto config = ParseCorsConfiguration(kTwoRules);
  ASSERT_TRUE(config.ok());
  auto preflight = CorsHeaders(config->rules[0], "https://app.example.com", true, {"content-type"});
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Methods"), "POST, PUT");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Headers"), "content-type");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Expose-Headers"), "ETag");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Credentials"), "true");
  EXPECT_NE(HeaderOf(preflight, "Vary").find("Origin"), std::string::npos);

  auto any = CorsHeaders(config->rules[1], "https://evil.test", false, {});
  EXPECT_EQ(HeaderOf(any, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(HeaderOf(any, "Access-Control-Allow-Credentials"), "(none)");
  EXPECT_EQ(HeaderOf(any, "Access-Control-Allow-Headers"), "(none)");
}

}  // namespace
}  // namespace sparkify::store
