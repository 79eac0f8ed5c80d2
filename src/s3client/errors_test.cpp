// S3 error responses -> Status, and S3ErrorOf back.
#include "s3client/internal/errors.h"

#include <gtest/gtest.h>

#include "s3client/s3client.h"

namespace sparkify::s3client::internal {
namespace {

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" +
         message +
         "</Message><Resource>/b/k</Resource><RequestId>4442587FB7D0A2F9</RequestId>"
         "</Error>";
}

TEST(ErrorFromResponse, MapsStatusAndKeepsCodeAndMessage) {
  struct Case {
    long status;
    std::string body;
    Status::Code code;
    std::string s3_code;
  };
  const Case cases[] = {
      {404, ErrorXml("NoSuchKey", "The specified key does not exist."), Status::Code::kNotFound,
       "NoSuchKey"},
      {404, ErrorXml("NoSuchBucket", "The specified bucket does not exist"),
       Status::Code::kNotFound, "NoSuchBucket"},
      {403, ErrorXml("SignatureDoesNotMatch", "The request signature..."),
       Status::Code::kPermissionDenied, "SignatureDoesNotMatch"},
      {400, ErrorXml("AuthorizationHeaderMalformed", "x"), Status::Code::kInvalidArgument,
       "AuthorizationHeaderMalformed"},
      {409, ErrorXml("BucketAlreadyOwnedByYou", "x"), Status::Code::kAlreadyExists,
       "BucketAlreadyOwnedByYou"},
      {409, ErrorXml("BucketNotEmpty", "x"), Status::Code::kFailedPrecondition, "BucketNotEmpty"},
      {503, ErrorXml("SlowDown", "x"), Status::Code::kUnavailable, "SlowDown"},
      {500, "<html>oops</html>", Status::Code::kUnavailable, "HTTP500"},
      {404, "", Status::Code::kNotFound, "NotFound"},  // HEAD: no body
      {403, "", Status::Code::kPermissionDenied, "Forbidden"},
      {412, "", Status::Code::kFailedPrecondition, "PreconditionFailed"},
  };
  for (const Case& c : cases) {
    Status st = ErrorFromResponse(c.status, c.body);
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    auto e = S3ErrorOf(st);
    ASSERT_TRUE(e) << st.ToString();
    EXPECT_EQ(e->http_status, c.status);
    EXPECT_EQ(e->code, c.s3_code);
  }
  auto e = S3ErrorOf(ErrorFromResponse(404, ErrorXml("NoSuchKey", "The key is gone.")));
  EXPECT_EQ(e->message, "The key is gone.");
  EXPECT_EQ(ErrorFromResponse(404, ErrorXml("NoSuchKey", "The key is gone.")).message(),
            "[HTTP 404 NoSuchKey] The key is gone.");
}

TEST(S3ErrorOf, IsEmptyForOtherStatuses) {
  EXPECT_FALSE(S3ErrorOf(Status::OK()));
  EXPECT_FALSE(S3ErrorOf(Status::Unavailable("Couldn't connect to server")));
  EXPECT_FALSE(S3ErrorOf(Status::NotFound("[HTTP x")));
}

}  // namespace
}  // namespace sparkify::s3client::internal
