#include "store/internal/s3_xml.h"

#include <gtest/gtest.h>

namespace sparkify::store {
namespace {

TEST(S3XmlTest, CompleteMultipartUploadParsesPartsAndUnquotesEtags) {
  auto parts = ParseCompleteMultipartUpload(
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><ETag>\"aaa\"</ETag><PartNumber>1</PartNumber></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>bbb</ETag></Part></CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], (std::pair<int, std::string>{1, "aaa"}));
  EXPECT_EQ((*parts)[1], (std::pair<int, std::string>{2, "bbb"}));
}

TEST(S3XmlTest, CompleteMultipartUploadRejectsBadDocuments) {
  const char* bad[] = {
      "",
      "<CompleteMultipartUpload>",
      "<Other/>",
      "<CompleteMultipartUpload></CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>a</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1x</PartNumber><ETag>a</ETag></Part>"
      "</CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
      "</CompleteMultipartUpload>",
  };
  for (const char* doc : bad) {
    EXPECT_FALSE(ParseCompleteMultipartUpload(doc).ok()) << doc;
  }
}

TEST(S3XmlTest, EncryptionConfigurationRoundTripAndBadDocuments) {
  auto aes = ParseEncryptionConfiguration(EncryptionConfigurationXml("AES256"));
  ASSERT_TRUE(aes.ok()) << aes.status().ToString();
  EXPECT_EQ(*aes, "AES256");
  auto kms = ParseEncryptionConfiguration(
      "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
      "<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID>"
      "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>");
  ASSERT_TRUE(kms.ok());
  EXPECT_EQ(*kms, "aws:kms");  // parsed as given: the service refuses it
  const char* bad[] = {
      "",
      "<ServerSideEncryptionConfiguration/>",
      "<ServerSideEncryptionConfiguration><Rule/></ServerSideEncryptionConfiguration>",
      "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
      "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule><Rule>"
      "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
      "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
      "<Other><Rule/></Other>",
  };
  for (const char* doc : bad) EXPECT_FALSE(ParseEncryptionConfiguration(doc).ok()) << doc;
}

TEST(S3XmlTest, EntitiesAreNotExpandedFromOutside) {
  // No external entities or DTD processing: the document is refused or the entity ignored,
  // never fetched.
  auto parts = ParseCompleteMultipartUpload(
      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part>"
      "</CompleteMultipartUpload>");
  if (parts.ok()) {
    EXPECT_EQ(parts->at(0).second.find("root:"), std::string::npos);
  }
}

TEST(S3XmlTest, DeleteObjects) {
  auto req = ParseDeleteObjects(
      "<Delete><Quiet>true</Quiet><Object><Key>a b</Key></Object><Object><Key>c&amp;d</Key>"
      "</Object></Delete>");
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->quiet);
  EXPECT_EQ(req->keys, (std::vector<std::string>{"a b", "c&d"}));
  EXPECT_FALSE(ParseDeleteObjects("<Delete></Delete>").ok());
  EXPECT_FALSE(ParseDeleteObjects("<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object>"
                                  "</Delete>").ok());
  std::string many = "<Delete>";
  for (int i = 0; i < 1001; ++i) many += "<Object><Key>k</Key></Object>";
  EXPECT_FALSE(ParseDeleteObjects(many + "</Delete>").ok());
}

TEST(S3XmlTest, CreateBucketConfiguration) {
  EXPECT_EQ(*ParseCreateBucketConfiguration(""), "");
  EXPECT_EQ(*ParseCreateBucketConfiguration(
                "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
                "</CreateBucketConfiguration>"),
            "eu-west-1");
  EXPECT_FALSE(ParseCreateBucketConfiguration("<nope").ok());
}

TEST(S3XmlTest, PublicAccessBlockRoundTrip) {
  auto b = ParsePublicAccessBlock(
      "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
      "<RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->block_public_acls);
  EXPECT_FALSE(b->ignore_public_acls);  // absent means false, as in S3
  EXPECT_FALSE(b->restrict_public_buckets);
  auto again = ParsePublicAccessBlock(PublicAccessBlockXml(*b));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->block_public_acls, b->block_public_acls);
  EXPECT_EQ(again->block_public_policy, b->block_public_policy);
  EXPECT_TRUE(PublicAccessBlock{}.all_on());
}

}  // namespace
}  // namespace sparkify::store
