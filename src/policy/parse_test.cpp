// Policy::Parse: documents it accepts, and numbered cases of documents it rejects with the
// message they must produce.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/policy.h"

namespace sparkify::policy {
namespace {

// {"Version":"2012-10-17","Statement":[{ <fields> }]}
std::string One(const std::string& fields) {
  return R"({"Version":"2012-10-17","Statement":[{)" + fields + "}]}";
}
const std::string kBody = R"("Effect":"Allow","Action":"s3:GetObject","Resource":"*")";
std::string WithCondition(const std::string& condition) {
  return One(kBody + R"(,"Condition":)" + condition);
}

struct ErrorCase {
  int id;
  std::string json;
  std::string message;  // must appear in the status message
  ParseOptions options = {};
};

std::vector<ErrorCase> ErrorCases() {
  ParseOptions identity, resource, tiny;
  identity.kind = PolicyKind::kIdentity;
  resource.kind = PolicyKind::kResource;
  tiny.max_bytes = 16;
  const std::string principal = R"("Principal":"*",)";
  return {
      {1, "", "policy is not valid JSON"},
      {2, "[]", "policy must be a JSON object"},
      {3,
       R"({"Statement":[)" + std::string("{") + kBody + "},{" + kBody +
           R"(},{"Effect":"allow",)"
           R"("Action":"s3:GetObject","Resource":"*"}]})",
       "Statement[2].Effect must be Allow or Deny"},
      {4, R"({"Statement":{"Action":"s3:GetObject","Resource":"*"}})",
       "Statement.Effect is required"},
      {5, R"({"Foo":1,"Statement":{)" + kBody + "}}", "policy has unknown field \"Foo\""},
      {6, One(kBody + R"(,"effect":"Allow")"), "Statement[0] has unknown field \"effect\""},
      {7, R"({"Version":"2012-10-18","Statement":{)" + kBody + "}}", "Version must be"},
      {8, R"({"Version":"2012-10-17"})", "policy needs a Statement"},
      {9, R"({"Statement":[]})", "Statement must be an object or a non-empty array"},
      {10, One(R"("Effect":"Allow","Resource":"*")"), "Statement[0] needs Action or NotAction"},
      {11, One(kBody + R"(,"NotAction":"s3:PutObject")"), "has both Action and NotAction"},
      {12, One(R"("Effect":"Allow","Action":"s3:GetObject")"),
       "Statement[0] needs Resource or NotResource"},
      {13, One(R"("Effect":"Allow","Action":"GetObject","Resource":"*")"),
       "Statement[0].Action \"GetObject\" must be \"*\" or service:action"},
      {14, One(R"("Effect":"Allow","Action":[],"Resource":"*")"),
       "Statement[0].Action must not be empty"},
      {15, One(R"("Effect":"Allow","Action":["s3:GetObject",1],"Resource":"*")"),
       "Statement[0].Action[1] must be a string"},
      {16, One(R"("Effect":"Allow","Action":"s3:GetObject","Resource":"bucket/*")"),
       "Statement[0].Resource \"bucket/*\" must be \"*\" or an ARN"},
      {17, WithCondition(R"({"StringEqualz":{"s3:prefix":"a"}})"),
       "Statement[0].Condition has unknown condition operator \"StringEqualz\""},
      {18, WithCondition(R"({"NumericLessThan":{"s3:max-keys":"ten"}})"),
       "Statement[0].Condition.NumericLessThan.s3:max-keys value \"ten\" is not a number"},
      {19, WithCondition(R"({"IpAddress":{"aws:SourceIp":"300.1.1.1"}})"),
       "value \"300.1.1.1\" is not an IPv4 or IPv6 address or CIDR block"},
      {20, WithCondition(R"({"DateLessThan":{"aws:CurrentTime":"tomorrow"}})"),
       "is not an ISO 8601 date or Unix time"},
      {21, WithCondition(R"({"Bool":{"aws:SecureTransport":"yes"}})"), "must be true or false"},
      {22, WithCondition(R"({"StringEquals":{"prefix":"a"}})"), "must be prefixed by a service"},
      {23, WithCondition(R"({"NullIfExists":{"aws:username":"true"}})"),
       "Null takes neither IfExists nor a set qualifier"},
      {24, One(principal.substr(0, 12) + R"("alice",)" + kBody),
       "Statement[0].Principal must be \"*\" or an object"},
      {25, One(R"("Principal":{"AWS":"alice"},)" + kBody),
       "Statement[0].Principal.AWS \"alice\" must be"},
      {26, One(R"("Principal":{"Foo":"x"},)" + kBody), "unknown principal type \"Foo\""},
      {27, One(principal + R"("NotPrincipal":"*",)" + kBody),
       "has both Principal and NotPrincipal"},
      {28, One(R"("Effect":"Deny",)" + kBody), "duplicate key \"Effect\""},
      {29, R"({"Statement":[{"Sid":"A",)" + kBody + R"(},{"Sid":"A",)" + kBody + "}]}",
       "Statement[1].Sid \"A\" is not unique"},
      {30, R"({"Statement":[{)" + principal + kBody + "},{" + kBody + "}]}",
       "Statement[1] names no Principal but Statement[0] does"},
      {31, One(kBody), "bytes, over the limit of 16", tiny},
      {32, std::string(40, '[') + std::string(40, ']'), "nested more than 32 levels"},
      {33, One(R"("Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username")"),
       "Statement[0].Resource has an unterminated policy variable"},
      {34, WithCondition(R"({"StringEquals":{"s3:prefix":[]}})"), "has no values"},
      {35, WithCondition(R"({"StringEquals":{"s3:prefix":{"a":1}}})"),
       "values must be strings, numbers or booleans"},
      {36, One(R"("Sid":1,)" + kBody), "Statement[0].Sid must be a string"},
      {37, One(principal + kBody), "names a Principal, which an identity policy must not",
       identity},
      {38, One(kBody), "needs Principal or NotPrincipal in a resource policy", resource},
      {39, WithCondition(R"({"StringEquals":"a"})"), "must be an object of condition keys"},
      {40, WithCondition(R"({"ForAllValues:Null":{"aws:username":"true"}})"),
       "Null takes neither IfExists nor a set qualifier"},
      {41, "{\"Statement\":{\"Sid\":\"\xff\"}}", "policy is not valid JSON"},
      {42, One(kBody) + " x", "policy is not valid JSON"},
      {43, WithCondition(R"({"StringLike":{"s3:prefix":"${}"}})"), "malformed policy variable"},
      {44, One(R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},)" + kBody),
       "without wildcards"},
      {45, One(R"("Principal":{"AWS":[]},)" + kBody),
       "Statement[0].Principal.AWS must not be empty"},
      {46, R"({"Statement":[1]})", "Statement[0] must be an object"},
      {47, One(R"("Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":[])"),
       "Statement[0].Condition must be an object"},
      {48, WithCondition(R"({"NumericEquals":{"x:n":"nan"}})"), "is not a number"},
      {49, R"({"Id":5,"Statement":{)" + kBody + "}}", "Id must be a string"},
      {50, WithCondition(R"({"StringEquals":{}})"), "must be an object of condition keys"},
      {51,
       One(R"("Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/a"},)"
           R"("Action":"s3:GetObject","Resource":"*")"),
       "Statement[0].NotPrincipal can only be used with Effect Deny"},
  };
}

TEST(ParseTest, RejectsWithMessages) {
  for (const ErrorCase& c : ErrorCases()) {
    SCOPED_TRACE("case " + std::to_string(c.id) + ": " + c.json);
    auto policy = Policy::Parse(c.json, c.options);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(policy.status().message().find(c.message), std::string::npos)
        << policy.status().message();
  }
}

TEST(ParseTest, AcceptsValidDocuments) {
  const std::string ok[] = {
      // Statement as a lone object, no Version, Id and Sid.
      R"({"Id":"p1","Statement":{"Sid":"S 1","Effect":"Deny","Action":"*","Resource":"*"}})",
      R"({"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject",)"
      R"("s3:PutObject"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]})",
      // Every principal form.
      One(R"("Principal":{"AWS":["*","111122223333","arn:aws:iam::444455556666:user/bob"],)"
          R"("Service":"lambda.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fba)"
          R"(cacb0","Federated":"cognito-identity.amazonaws.com"},)" +
          kBody),
      One(R"("NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},)"
          R"("Effect":"Deny","Action":"s3:GetObject","Resource":"*")"),
      // Numbers and booleans as condition values; every operator family with qualifiers.
      WithCondition(R"({"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true},)"
                    R"("ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]},)"
                    R"("DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},)"
                    R"("NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},)"
                    R"("ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::x*"},)"
                    R"("Null":{"aws:username":"false"},)"
                    R"("StringEqualsIgnoreCase":{"s3:prefix":"${aws:username, 'x'}${*}"}})"),
      One(R"("Effect":"Allow","NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::secret/*")"),
      // Empty Condition block: no conditions.
      WithCondition("{}"),
  };
  for (const std::string& json : ok) {
    auto policy = Policy::Parse(json);
    EXPECT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << json;
    if (policy.ok()) {
      EXPECT_EQ(policy->json(), json);
    }
  }
}

TEST(ParseTest, DocumentKinds) {
  ParseOptions resource;
  resource.kind = PolicyKind::kResource;
  auto bucket = Policy::Parse(One(R"("Principal":"*",)" + kBody), resource);
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  EXPECT_TRUE(bucket->has_principals());
  ParseOptions identity;
  identity.kind = PolicyKind::kIdentity;
  auto user = Policy::Parse(One(kBody), identity);
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_FALSE(user->has_principals());
}

TEST(ParseTest, SizeLimitDefaultsTo20KiB) {
  std::string padding(20 * 1024, ' ');
  std::string small = One(kBody);
  EXPECT_TRUE(Policy::Parse(small + padding.substr(small.size())).ok());
  EXPECT_FALSE(Policy::Parse(small + padding.substr(small.size() - 1)).ok());
}

}  // namespace
}  // namespace sparkify::policy
