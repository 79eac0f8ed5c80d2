// IP, ARN and Null operators, set qualifiers, and policy variables in condition values.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/conditions.h"
#include "policy/policy.h"
#include "policy/test_util.h"

namespace sparkify::policy {
namespace {

using testing::AllowWhen;
using testing::ConditionCase;
using testing::Context;
using testing::RunTable;

Context Ip(const char* address) { return {{"aws:SourceIp", {address}}}; }

TEST(ConditionTest, IpOperators) {
  RunTable({
      {1, R"({"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})", Ip("192.0.2.200"), true},
      {2, R"({"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})", Ip("192.0.3.1"), false},
      {3, R"({"IpAddress":{"aws:SourceIp":"192.0.2.7"}})", Ip("192.0.2.7"), true},
      {4, R"({"IpAddress":{"aws:SourceIp":"192.0.2.7"}})", Ip("192.0.2.8"), false},
      {5, R"({"IpAddress":{"aws:SourceIp":"192.0.2.7/22"}})", Ip("192.0.1.1"), true},
      {6, R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})", Ip("2001:db8:1::5"), true},
      {7, R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})", Ip("2001:db9::1"), false},
      {8, R"({"IpAddress":{"aws:SourceIp":"2001:DB8::1"}})", Ip("2001:db8:0:0:0:0:0:1"), true},
      {9, R"({"IpAddress":{"aws:SourceIp":"::1"}})", Ip("::1"), true},
      {10, R"({"IpAddress":{"aws:SourceIp":"::1"}})", Ip("127.0.0.1"), false},
      {11, R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", Ip("203.0.113.9"), true},
      {12, R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", Ip("2001:db8::1"), false},
      {13, R"({"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})", Ip("::ffff:192.0.2.5"), true},
      {14, R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}})", Ip("10.9.8.7"), true},
      {15, R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", Ip("192.0.2.1"), true},
      {16, R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", Ip("10.1.2.3"), false},
      {17, R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", {}, true},
      {18, R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", {}, false},
      {19, R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", Ip("garbage"), false},
      {20, R"({"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}})", {}, true},
      {21, R"({"IpAddress":{"aws:SourceIp":"fe80::/10"}})", Ip("fe80::1:2:3:4"), true},
      {22, R"({"IpAddress":{"aws:SourceIp":"2001:db8::a:b/127"}})", Ip("2001:db8::a:a"), true},
      {23, R"({"IpAddress":{"aws:SourceIp":"2001:db8::a:b/127"}})", Ip("2001:db8::a:c"), false},
      {24, R"({"IpAddress":{"aws:SourceIp":"::ffff:0:0/96"}})", Ip("::ffff:1.2.3.4"), false},
  });
}

TEST(ConditionTest, ArnOperators) {
  const Context from_bucket = {{"aws:SourceArn", {"arn:aws:s3:::bucket-1"}}};
  const Context from_fn = {{"aws:SourceArn", {"arn:aws:lambda:us-east-1:111122223333:function:f"}}};
  RunTable({
      {1, R"({"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket*"}})", from_bucket, true},
      {2, R"({"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::bucket*"}})", from_bucket, true},
      {3, R"({"ArnLike":{"aws:SourceArn":"arn:aws:s3:::other*"}})", from_bucket, false},
      {4, R"({"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:111122223333:function:f"}})", from_fn,
       true},
      {5, R"({"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:111122223333:*"}})", from_fn, true},
      {6, R"({"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:444455556666:*"}})", from_fn, false},
      {7, R"({"ArnLike":{"aws:SourceArn":"arn:aws:S3:::bucket-1"}})", from_bucket, false},
      {8, R"({"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::bucket-1"}})", from_bucket, false},
      {9, R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::x*"}})", from_bucket, true},
      {10, R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::x*"}})", {}, true},
      {11, R"({"ArnLike":{"aws:SourceArn":"arn:aws:s3:::x*"}})", {}, false},
      {12,
       R"({"ArnLike":{"aws:SourceArn":"arn:aws:*:us-east-1:111122223333:function:f"}})",
       {{"aws:SourceArn", {"arn:aws:lambda:x:us-east-1:111122223333:function:f"}}},
       false},
  });
}

TEST(ConditionTest, NullOperator) {
  RunTable({
      {1, R"({"Null":{"aws:username":"true"}})", {}, true},
      {2, R"({"Null":{"aws:username":"true"}})", {{"aws:username", {"alice"}}}, false},
      {3, R"({"Null":{"aws:username":"false"}})", {{"aws:username", {"alice"}}}, true},
      {4, R"({"Null":{"aws:username":false}})", {}, false},
      {5, R"({"Null":{"aws:username":"true"}})", {{"aws:username", {}}}, true},
      {6, R"({"Null":{"aws:username":"true"}})", {{"aws:username", {""}}}, false},
  });
}

TEST(ConditionTest, SetQualifiers) {
  auto tags = [](std::vector<std::string> v) { return Context{{"aws:TagKeys", std::move(v)}}; };
  RunTable({
      {1, R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})", tags({"c", "a"}), true},
      {2, R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})", tags({"c"}), false},
      {3, R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})", {}, false},
      {4, R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})", tags({"a", "b"}), true},
      {5, R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})", tags({"a", "c"}), false},
      {6, R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})", {}, true},
      {7, R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})", tags({}), true},
      {8, R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}})", tags({"a", "b"}), true},
      {9, R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}})", tags({"a"}), false},
      {10, R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":"a"}})", tags({"b", "c"}), true},
      {11, R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":"a"}})", tags({"a", "b"}), false},
      {12, R"({"ForAnyValue:StringLike":{"aws:TagKeys":"x*"}})", tags({"y", "xz"}), true},
      {13, R"({"ForAllValues:StringLike":{"aws:TagKeys":"x*"}})", tags({"y", "xz"}), false},
      // Without a qualifier a multi-valued key matches when any value does...
      {14, R"({"StringEquals":{"aws:TagKeys":"a"}})", tags({"b", "a"}), true},
      // ...and a negated operator holds only when no value matches.
      {15, R"({"StringNotEquals":{"aws:TagKeys":"a"}})", tags({"b", "a"}), false},
      {16, R"({"ForAllValues:StringLikeIfExists":{"aws:TagKeys":"x*"}})", {}, true},
      {17, R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}})", {}, true},
      {18, R"({"ForAnyValue:NumericLessThan":{"x:n":5}})", {{"x:n", {"9", "3"}}}, true},
      {19,
       R"({"ForAllValues:IpAddress":{"x:ips":"10.0.0.0/8"}})",
       {{"x:ips", {"10.0.0.1", "11.0.0.1"}}},
       false},
      {20, R"({"foranyvalue:stringequals":{"aws:TagKeys":"a"}})", tags({"a"}), true},
  });
}

TEST(ConditionTest, PolicyVariablesInValues) {
  RunTable({
      {1,
       R"({"StringLike":{"s3:prefix":"home/${aws:username}/*"}})",
       {{"s3:prefix", {"home/alice/x"}}, {"aws:username", {"alice"}}},
       true},
      {2,
       R"({"StringLike":{"s3:prefix":"home/${aws:username}/*"}})",
       {{"s3:prefix", {"home/bob/x"}}, {"aws:username", {"alice"}}},
       false},
      // Unresolvable: that value matches nothing, so the positive operator fails...
      {3, R"({"StringEquals":{"s3:prefix":"${aws:username}"}})", {{"s3:prefix", {""}}}, false},
      // ...and its negation holds.
      {4, R"({"StringNotEquals":{"s3:prefix":"${aws:username}"}})", {{"s3:prefix", {"x"}}}, true},
      {5,
       R"({"StringEquals":{"s3:prefix":["${aws:username}","x"]}})",
       {{"s3:prefix", {"x"}}},
       true},
      {6,
       R"({"StringEquals":{"s3:prefix":"${aws:username, 'guest'}"}})",
       {{"s3:prefix", {"guest"}}},
       true},
      {7, R"({"StringLike":{"s3:prefix":"a${*}"}})", {{"s3:prefix", {"a*"}}}, true},
      {8, R"({"StringLike":{"s3:prefix":"a${*}"}})", {{"s3:prefix", {"ab"}}}, false},
      {9, R"({"StringLike":{"s3:prefix":"a${?}${$}"}})", {{"s3:prefix", {"a?$"}}}, true},
      // A substituted value is literal even if it holds wildcard characters.
      {10,
       R"({"StringLike":{"s3:prefix":"${aws:userid}"}})",
       {{"s3:prefix", {"AIDA:x"}}, {"aws:userid", {"AIDA:*"}}},
       false},
      {11,
       R"({"StringLike":{"s3:prefix":"${aws:userid}"}})",
       {{"s3:prefix", {"AIDA:*"}}, {"aws:userid", {"AIDA:*"}}},
       true},
      {12,
       R"({"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:user/${aws:username}"}})",
       {{"aws:SourceArn", {"arn:aws:iam::1:user/alice"}}, {"aws:username", {"alice"}}},
       true},
      {13,
       R"({"StringEquals":{"s3:prefix":"${AWS:UserName}"}})",
       {{"s3:prefix", {"alice"}}, {"aws:username", {"alice"}}},
       true},
  });
}

TEST(ConditionParsingTest, IpRangesAndDates) {
  EXPECT_TRUE(ParseIpRange("1.2.3.4"));
  EXPECT_TRUE(ParseIpRange("1.2.3.4/0"));
  EXPECT_TRUE(ParseIpRange("::"));
  EXPECT_TRUE(ParseIpRange("1:2:3:4:5:6:7:8"));
  EXPECT_TRUE(ParseIpRange("::ffff:1.2.3.4/120"));
  EXPECT_FALSE(ParseIpRange("1.2.3"));
  EXPECT_FALSE(ParseIpRange("1.2.3.4.5"));
  EXPECT_FALSE(ParseIpRange("256.1.1.1"));
  EXPECT_FALSE(ParseIpRange("1.2.3.4/33"));
  EXPECT_FALSE(ParseIpRange("1.2.3.4/"));
  EXPECT_FALSE(ParseIpRange("::/129"));
  EXPECT_FALSE(ParseIpRange("1::2::3"));
  EXPECT_FALSE(ParseIpRange(":::"));
  EXPECT_FALSE(ParseIpRange("1:2:3:4:5:6:7:8:9"));
  EXPECT_FALSE(ParseIpRange("1:2:3:4:5:6:7::8"));
  EXPECT_FALSE(ParseIpRange("12345::"));
  EXPECT_FALSE(ParseIpRange("fe80::1%eth0"));
  EXPECT_FALSE(ParseIpRange(""));

  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseDate("0"), 0);
  EXPECT_EQ(ParseDate("2000-03-01T00:00:00Z"), int64_t{951868800} * 1000);
  EXPECT_EQ(ParseDate("2024-02-29"), int64_t{1709164800} * 1000);
  EXPECT_FALSE(ParseDate("2023-02-29"));
  EXPECT_FALSE(ParseDate("2023-13-01"));
  EXPECT_FALSE(ParseDate("2023-01-01T24:00:00Z"));
  EXPECT_FALSE(ParseDate("2023-01-01T"));
  EXPECT_FALSE(ParseDate("2023-01-01T10:00:00Zjunk"));
  EXPECT_FALSE(ParseDate("yesterday"));
  EXPECT_FALSE(ParseDate(""));
}

}  // namespace
}  // namespace sparkify::policy
