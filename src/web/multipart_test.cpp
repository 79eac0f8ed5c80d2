#include "web/internal/multipart.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

TEST(MultipartBoundary, ReadsQuotedAndPlain) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("application/json").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
}

TEST(ParseMultipart, SplitsFilesAndFields) {
  std::string body =
      "preamble\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n\xff\xd8\r\nbinary\r\n--XYZ\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XYZ--\r\n";
  auto parts = ParseMultipart(body, "XYZ");
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_EQ((*parts)[0].filename, "a.jpg");
  EXPECT_EQ((*parts)[0].content_type, "image/jpeg");
  EXPECT_EQ((*parts)[0].data, "\xff\xd8\r\nbinary");
  EXPECT_EQ((*parts)[1].name, "note");
  EXPECT_EQ((*parts)[1].filename, "");
  EXPECT_EQ((*parts)[1].data, "hello");
}

TEST(ParseMultipart, RefusesMalformedBodies) {
  const char* cases[] = {
      "",                                                                // nothing
      "--XYZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nabc",  // no end
      "--XYZ\r\nContent-Type: text/plain\r\n\r\nabc\r\n--XYZ--",         // no disposition
      "--XYZ garbage",                                                   // bad delimiter
  };
  for (const char* body : cases) EXPECT_FALSE(ParseMultipart(body, "XYZ").ok()) << body;
}

TEST(ParseMultipart, EmptyFormIsEmpty) {
  auto parts = ParseMultipart("--XYZ--\r\n", "XYZ");
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
}

TEST(ParseMultipart, CapsTheNumberOfParts) {
  std::string body;
  for (int i = 0; i < 5; ++i)
    body += "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  body += "--B--\r\n";
  EXPECT_EQ(ParseMultipart(body, "B", 5)->size(), 5u);
  auto capped = ParseMultipart(body, "B", 4);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().code(), Status::Code::kResourceExhausted);
}

TEST(ParseMultipart, QuotedSemicolonsAndParametersWithoutValues) {
  std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b=c.png\"\r\n\r\n"
      "x\r\n--B\r\nContent-Disposition: form-data; odd; name=\"file\"; filename=\"d.png\"\r\n"
      "\r\ny\r\n--B--\r\n";
  auto parts = ParseMultipart(body, "B");
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].filename, "a;b=c.png");
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "d.png");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; charset; boundary=xyz"), "xyz");
}

}  // namespace
}  // namespace sparkify::web::internal
