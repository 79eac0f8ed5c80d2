// The Invoke API's pure parts: the error table and the unsigned-request rule.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lambda/internal/emulator_impl.h"

namespace sparkify::lambda::internal {
namespace {

using json = nlohmann::json;

TEST(InvokeErrorsTest, EveryErrorRendersTheRestJsonShape) {
  struct Case {
    InvokeError error;
    int status;
    const char* name;
    const char* field;
  } cases[] = {
      {InvokeError::kResourceNotFound, 404, "ResourceNotFoundException", "Message"},
      {InvokeError::kRequestTooLarge, 413, "RequestTooLargeException", "message"},
      {InvokeError::kTooManyRequests, 429, "TooManyRequestsException", "message"},
      {InvokeError::kInvalidRequestContent, 400, "InvalidRequestContentException", "message"},
      {InvokeError::kInvalidParameterValue, 400, "InvalidParameterValueException", "message"},
      {InvokeError::kService, 500, "ServiceException", "Message"},
      {InvokeError::kAccessDenied, 403, "AccessDeniedException", "Message"},
      {InvokeError::kInvalidSignature, 403, "InvalidSignatureException", "message"},
      {InvokeError::kUnrecognizedClient, 403, "UnrecognizedClientException", "message"},
      {InvokeError::kIncompleteSignature, 403, "IncompleteSignatureException", "message"},
      {InvokeError::kMissingAuthenticationToken, 403, "MissingAuthenticationTokenException",
       "message"},
      {InvokeError::kUnknownOperation, 404, "UnknownOperationException", "message"},
  };
  for (const auto& c : cases) {
    http::Response res = RenderInvokeError(c.error, "why", "req-1");
    EXPECT_EQ(res.status, c.status) << c.name;
    json body = json::parse(res.body);
    EXPECT_EQ(body[c.field], "why") << c.name;
    EXPECT_EQ(body["Type"], c.status >= 500 ? "Service" : "User") << c.name;
    bool has_type_header = false, has_id = false;
    for (const auto& [n, v] : res.headers) {
      has_type_header |= n == "x-amzn-ErrorType" && v == c.name;
      has_id |= n == "X-Amzn-RequestId" && v == "req-1";
    }
    EXPECT_TRUE(has_type_header) << c.name;
    EXPECT_TRUE(has_id) << c.name;
  }
}

TEST(InvokeAuthTest, UnsignedRequestsOnlyFromLoopbackAndOnlyWhenAllowed) {
  struct Case {
    const char* ip;
    bool flag;
    bool allowed;
  } cases[] = {
      {"127.0.0.1", true, true},
      {"127.8.9.10", true, true},
      {"::1", true, true},
      {"::ffff:127.0.0.1", true, true},
      {"192.0.2.1", true, false},
      {"10.0.0.7", true, false},
      {"::ffff:192.0.2.1", true, false},
      {"2001:db8::1", true, false},
      {"127.0.0.1", false, false},
      {"::1", false, false},
  };
  for (const auto& c : cases) {
    http::Request req;
    req.method = "POST";
    req.path = "/2015-03-31/functions/function/invocations";
    req.remote_ip = c.ip;
    EmulatorOptions options;
    options.allow_unsigned_loopback = c.flag;
    auto denial = AuthorizeInvoke(req, "{}", options,
                                  "arn:aws:lambda:us-east-1:000000000000:function:function");
    EXPECT_EQ(!denial.has_value(), c.allowed) << c.ip << " flag " << c.flag;
    if (denial) {
      EXPECT_EQ(denial->error, InvokeError::kMissingAuthenticationToken) << c.ip;
    }
  }
}

TEST(InvokeAuthTest, UnsignedRemoteFlagAcceptsAnyAddressButStillChecksSignatures) {
  for (const char* ip : {"172.17.0.1", "10.0.0.7", "2001:db8::1", "127.0.0.1"}) {
    http::Request req;
    req.method = "POST";
    req.path = "/2015-03-31/functions/function/invocations";
    req.remote_ip = ip;
    EmulatorOptions options;
    options.allow_unsigned_loopback = false;
    options.allow_unsigned_remote = true;
    const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:function";
    EXPECT_FALSE(AuthorizeInvoke(req, "{}", options, arn).has_value()) << ip;
    // A signature is still verified: an unknown key is refused, flag or not.
    req.headers.emplace_back(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20240101/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" +
            std::string(64, '0'));
    req.headers.emplace_back("x-amz-date", "20240101T000000Z");
    req.headers.emplace_back("host", "localhost");
    auto denial = AuthorizeInvoke(req, "{}", options, arn);
    ASSERT_TRUE(denial.has_value()) << ip;
    EXPECT_NE(denial->error, InvokeError::kMissingAuthenticationToken) << ip;
  }
}

TEST(InvokeAuthTest, UnsignedInvokesFromABrowserAreRefused) {
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:function";
  struct {
    const char* header;
    const char* value;
    bool allowed;
  } cases[] = {
      {"origin", "https://evil.example", false},  {"origin", "null", false},
      {"origin", "http://127.0.0.1:8080", false}, {"sec-fetch-site", "cross-site", false},
      {"sec-fetch-site", "same-site", false},     {"sec-fetch-site", "same-origin", false},
      {"sec-fetch-site", "none", true},  // typed into the address bar: not a page's request
      {"user-agent", "curl/7.88.1", true},
  };
  for (bool remote : {false, true}) {
    for (const auto& c : cases) {
      http::Request req;
      req.method = "POST";
      req.path = "/2015-03-31/functions/function/invocations";
      req.remote_ip = "127.0.0.1";
      req.headers.emplace_back(c.header, c.value);
      EmulatorOptions options;
      options.allow_unsigned_remote = remote;
      auto denial = AuthorizeInvoke(req, "{}", options, arn);
      EXPECT_EQ(!denial.has_value(), c.allowed) << c.header << ": " << c.value;
      if (denial) {
        EXPECT_EQ(denial->error, InvokeError::kMissingAuthenticationToken);
        EXPECT_NE(denial->message.find("web browser"), std::string::npos);
      }
    }
  }
}

TEST(InvokeAuthTest, RequestIdsAreVersion4Uuids) {
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

}  // namespace
}  // namespace sparkify::lambda::internal
