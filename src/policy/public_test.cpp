// Policy::IsPublic: numbered cases of Block Public Access's notion of a public policy.

#include <string>

#include <gtest/gtest.h>

#include "policy/policy.h"

namespace sparkify::policy {
namespace {

// A bucket policy with one statement: Effect, Principal element, and optional Condition.
std::string Grant(const std::string& principal, const std::string& condition = "",
                  const std::string& effect = "Allow") {
  std::string s = R"({"Version":"2012-10-17","Statement":[{"Effect":")" + effect + R"(",)" +
                  principal + R"(,"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*")";
  if (!condition.empty()) s += R"(,"Condition":)" + condition;
  return s + "}]}";
}

const std::string kStar = R"("Principal":"*")";

struct PublicCase {
  int id;
  std::string json;
  bool is_public;
};

TEST(IsPublicTest, Table) {
  const PublicCase cases[] = {
      {1, Grant(kStar), true},
      {2, Grant(R"("Principal":{"AWS":"*"})"), true},
      {3, Grant(R"("Principal":{"AWS":"111122223333"})"), false},
      {4, Grant(R"("Principal":{"AWS":["arn:aws:iam::111122223333:user/a","*"]})"), true},
      {5, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})"), false},
      {6, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}})"), true},
      {7, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})"), false},
      {8, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})"), false},
      {9, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"::/0"}})"), true},
      {10, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","0.0.0.0/0"]}})"), true},
      {11, Grant(kStar, R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})"), true},
      {12, Grant(kStar, R"({"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}})"), false},
      {13, Grant(kStar, R"({"StringLike":{"aws:SourceVpce":"vpce-*"}})"), true},
      {14, Grant(kStar, R"({"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}})"), false},
      {15, Grant(kStar, R"({"StringEquals":{"aws:SourceAccount":"${aws:username}"}})"), true},
      {16, Grant(kStar, R"({"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}})"), true},
      {17, Grant(kStar, R"({"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}})"), true},
      {18, Grant(kStar, R"({"ForAnyValue:StringEquals":{"aws:SourceVpc":"vpc-1"}})"), false},
      {19, Grant(kStar, R"({"StringNotEquals":{"aws:SourceVpc":"vpc-1"}})"), true},
      {20, Grant(kStar, R"({"Bool":{"aws:SecureTransport":"true"}})"), true},
      {21, Grant(kStar, "", "Deny"), false},
      {23, R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})", false},
      {24, Grant(kStar, R"({"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::b"}})"), false},
      {25, Grant(kStar, R"({"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}})"), true},
      {26, Grant(kStar, R"({"StringEquals":{"aws:userid":"AROAEXAMPLEID:alice"}})"), false},
      {27, Grant(kStar, R"({"StringLike":{"aws:userid":"AROAEXAMPLEID:*"}})"), true},
      {28,
       R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",)"
       R"("Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}},)"
       R"({"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}]})",
       true},
      {29, Grant(kStar, R"({"StringEquals":{"aws:SourceIp":"192.0.2.1"}})"), true},
      {30, Grant(kStar, R"({"StringEquals":{"s3:DataAccessPointAccount":"111122223333"}})"), false},
      {31, Grant(kStar, R"({"StringEquals":{"AWS:SourceVPC":"vpc-1"}})"), false},
      // One pinning condition suffices, whatever else the statement checks.
      {32,
       Grant(kStar, R"({"Bool":{"aws:SecureTransport":"true"},)"
                    R"("StringEquals":{"aws:SourceAccount":"111122223333"}})"),
       false},
      {33, Grant(kStar, R"({"StringEquals":{"aws:username":"alice"}})"), true},
      {34, Grant(R"("Principal":{"Service":"s3.amazonaws.com"})"), false},
      {35, Grant(kStar, R"({"StringEquals":{"aws:SourceAccount":"1111?2223333"}})"), true},
      {36, Grant(kStar, R"({"IpAddress":{"aws:SourceIp":"2001:db8::/31"}})"), true},
      {37, Grant(kStar, R"({"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}})"), true},
  };
  for (const PublicCase& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.id) + ": " + c.json);
    auto policy = Policy::Parse(c.json);
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    EXPECT_EQ(policy->IsPublic(), c.is_public);
  }
}

}  // namespace
}  // namespace sparkify::policy
