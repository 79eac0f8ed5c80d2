// The XML documents: error bodies, ListObjectsV2 results, CreateBucketConfiguration.
#include "s3client/internal/xml.h"

#include <gtest/gtest.h>

namespace sparkify::s3client::internal {
namespace {

TEST(ParseListObjectsV2, ReadsObjectsPrefixesAndPaging) {
  const char* body = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>dir%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>%2F</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <NextContinuationToken>tok+en/=</NextContinuationToken>
  <Contents><Key>dir/a+b%2Bc.txt</Key><LastModified>2024-03-01T12:00:00.000Z</LastModified>
    <ETag>"abc"</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>dir/%E6%97%A5</Key><LastModified>2024-03-01T12:00:01.000Z</LastModified>
    <ETag>"def"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>
  <CommonPrefixes><Prefix>dir/sub%20dir/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  auto r = ParseListObjectsV2(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "dir/a b+c.txt");
  EXPECT_EQ(r->objects[0].size, 12u);
  EXPECT_EQ(r->objects[0].etag, "\"abc\"");
  EXPECT_EQ(r->objects[0].storage_class, "STANDARD");
  EXPECT_EQ(r->objects[0].last_modified, *ParseIso8601("2024-03-01T12:00:00.000Z"));
  EXPECT_EQ(r->objects[1].key, "dir/\xe6\x97\xa5");
  EXPECT_EQ(r->common_prefixes, std::vector<std::string>{"dir/sub dir/"});
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "tok+en/=");  // never URL-encoded
}

TEST(ParseListObjectsV2, KeysAreVerbatimWithoutUrlEncoding) {
  auto r = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b%20</Key>"
      "<Size>1</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objects[0].key, "a+b%20");
  EXPECT_FALSE(r->is_truncated);
}

TEST(ParseListObjectsV2, RefusesMalformedDocuments) {
  for (const char* bad : {"", "<ListBucketResult>", "<Error/>",
                          "<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents>"
                          "</ListBucketResult>",
                          "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz"
                          "</Key><Size>1</Size></Contents></ListBucketResult>"}) {
    EXPECT_EQ(ParseListObjectsV2(bad).status().code(), Status::Code::kCorruption) << bad;
  }
}

TEST(ParseErrorDocument, ReadsCodeAndMessage) {
  auto e = ParseErrorDocument("<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "gone");
  EXPECT_FALSE(ParseErrorDocument("<html/>"));
  EXPECT_FALSE(ParseErrorDocument("not xml"));
}

TEST(CreateBucketConfiguration, NamesTheRegion) {
  EXPECT_EQ(CreateBucketConfiguration("eu-west-1"),
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>");
}

}  // namespace
}  // namespace sparkify::s3client::internal
