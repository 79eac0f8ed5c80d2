// Authorize over identity and bucket policies: numbered cases, each with the policies, a
// request, and the expected decision.

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/test_util.h"

namespace sparkify::policy {
namespace {

using testing::Context;
using testing::kAlice;
using testing::kAnonymous;
using testing::kBob;

constexpr Decision kAllow = Decision::kAllow;
constexpr Decision kDeny = Decision::kExplicitDeny;
constexpr Decision kNone = Decision::kImplicitDeny;

// {"Version":"2012-10-17","Statement":[ <statements> ]}
std::string Doc(const std::string& statements) {
  return R"({"Version":"2012-10-17","Statement":[)" + statements + "]}";
}

const std::string kAllowGet =
    R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"})";
const std::string kDenyGet =
    R"({"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"})";
const std::string kAllowAll = R"({"Effect":"Allow","Action":"*","Resource":"*"})";

std::string Public(const std::string& extra = "") {
  return R"({"Effect":"Allow","Principal":"*","Action":"s3:GetObject",)"
         R"("Resource":"arn:aws:s3:::bucket/*")" +
         extra + "}";
}

struct AuthCase {
  int id;
  std::vector<std::string> identity;  // identity policy documents
  std::string bucket;                 // bucket policy document, or empty
  std::string principal;
  std::string action;
  std::string resource;
  Context context;
  Decision want;
};

const std::string kObj = "arn:aws:s3:::bucket/a.txt";
const std::string kBucket = "arn:aws:s3:::bucket";
const std::string kHome = R"({"Effect":"Allow","Action":"s3:*",)"
                          R"("Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"})";
const std::string kListHome =
    R"({"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket",)"
    R"("Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}})";

std::vector<AuthCase> Cases() {
  const Context alice_name = {{"aws:username", {"alice"}}};
  // clang-format off
  return {
      {1, {Doc(kAllowGet)}, "", kAlice, "s3:GetObject", kObj, {}, kAllow},
      {2, {Doc(kAllowGet)}, "", kAlice, "s3:PutObject", kObj, {}, kNone},
      {3, {Doc(kDenyGet + "," + kAllowGet)}, "", kAlice, "s3:GetObject", kObj, {}, kDeny},
      {4, {Doc(kAllowGet + "," + kDenyGet)}, "", kAlice, "s3:GetObject", kObj, {}, kDeny},
      {5, {Doc(kAllowGet), Doc(kDenyGet)}, "", kAlice, "s3:GetObject", kObj, {}, kDeny},
      {6, {Doc(kAllowAll)}, Doc(R"({"Effect":"Deny","Principal":"*","Action":"s3:*",)"
                                R"("Resource":"arn:aws:s3:::bucket/*"})"),
       kAlice, "s3:GetObject", kObj, {}, kDeny},
      // Action wildcards, case-insensitive.
      {7, {Doc(R"({"Effect":"Allow","Action":"s3:Get*","Resource":"*"})")}, "", kAlice,
       "s3:GetObjectVersion", kObj, {}, kAllow},
      {8, {Doc(R"({"Effect":"Allow","Action":"S3:getobject","Resource":"*"})")}, "", kAlice,
       "s3:GetObject", kObj, {}, kAllow},
      {9, {Doc(R"({"Effect":"Allow","Action":"s3:*","Resource":"*"})")}, "", kAlice,
       "s3:ListBucket", kBucket, {}, kAllow},
      {10, {Doc(kAllowAll)}, "", kAlice, "lambda:InvokeFunction",
       "arn:aws:lambda:us-east-1:111122223333:function:f", {}, kAllow},
      {11, {Doc(R"({"Effect":"Allow","Action":"s3:?etObject","Resource":"*"})")}, "", kAlice,
       "s3:GetObject", kObj, {}, kAllow},
      // Resource wildcards, case-sensitive.
      {12, {Doc(R"({"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::Bucket/*"})")}, "",
       kAlice, "s3:GetObject", kObj, {}, kNone},
      {13, {Doc(R"({"Effect":"Allow","Action":"s3:*",)"
                R"("Resource":"arn:aws:s3:::bucket/uploads/??.png"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::bucket/uploads/ab.png", {}, kAllow},
      {14, {Doc(R"({"Effect":"Allow","Action":"s3:*",)"
                R"("Resource":"arn:aws:s3:::bucket/uploads/??.png"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::bucket/uploads/abc.png", {}, kNone},
      {15, {Doc(kAllowGet)}, "", kAlice, "s3:ListBucket", kBucket, {}, kNone},
      {16, {Doc(R"({"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket*"})")}, "",
       kAlice, "s3:GetObject", "arn:aws:s3:::bucket-two/x", {}, kAllow},
      // NotAction / NotResource.
      {17, {Doc(R"({"Effect":"Allow","NotAction":"s3:DeleteObject","Resource":"*"})")}, "", kAlice,
       "s3:GetObject", kObj, {}, kAllow},
      {18, {Doc(R"({"Effect":"Allow","NotAction":"s3:DeleteObject","Resource":"*"})")}, "", kAlice,
       "s3:DeleteObject", kObj, {}, kNone},
      {19, {Doc(kAllowAll + R"(,{"Effect":"Deny","NotAction":"s3:GetObject","Resource":"*"})")},
       "", kAlice, "s3:PutObject", kObj, {}, kDeny},
      {20, {Doc(kAllowAll + R"(,{"Effect":"Deny","NotAction":"s3:GetObject","Resource":"*"})")},
       "", kAlice, "s3:GetObject", kObj, {}, kAllow},
      {21, {Doc(R"({"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"})")},
       "", kAlice, "s3:GetObject", kObj, {}, kAllow},
      {22, {Doc(R"({"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::secret/a", {}, kNone},
      {23, {Doc(kAllowAll + R"(,{"Effect":"Deny","Action":"*",)"
                            R"("NotResource":"arn:aws:s3:::public/*"})")},
       "", kAlice, "s3:GetObject", kObj, {}, kDeny},
      // There is no s3:HeadObject: HEAD is authorised as s3:GetObject.
      {24, {Doc(R"({"Effect":"Allow","Action":"s3:HeadObject","Resource":"*"})")}, "", kAlice,
       "s3:GetObject", kObj, {}, kNone},
      // ListBucket on the bucket ARN, narrowed by s3:prefix.
      {25, {Doc(kListHome)}, "", kAlice, "s3:ListBucket", kBucket,
       {{"s3:prefix", {"home/alice/photos"}}, {"aws:username", {"alice"}}}, kAllow},
      {26, {Doc(kListHome)}, "", kAlice, "s3:ListBucket", kBucket,
       {{"s3:prefix", {"home/bob/"}}, {"aws:username", {"alice"}}}, kNone},
      {27, {Doc(kListHome)}, "", kAlice, "s3:ListBucket", kBucket, alice_name, kNone},
      {28, {Doc(kListHome)}, "", kAlice, "s3:ListBucket", kBucket,
       {{"s3:prefix", {""}}, {"aws:username", {"alice"}}}, kAllow},
      // Bucket policies: Principal "*" vs a user ARN, anonymous callers.
      {29, {}, Doc(Public()), kAnonymous, "s3:GetObject", kObj, {}, kAllow},
      {30, {}, Doc(Public()), kBob, "s3:GetObject", kObj, {}, kAllow},
      {31, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":")" + std::string(kAlice) +
                   R"("},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"})"),
       kAnonymous, "s3:GetObject", kObj, {}, kNone},
      {32, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":[")" + std::string(kAlice) +
                   R"("]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"})"),
       kAlice, "s3:GetObject", kObj, {}, kAllow},
      {33, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":")" + std::string(kAlice) +
                   R"("},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"})"),
       kBob, "s3:GetObject", kObj, {}, kNone},
      // An account id (or its root ARN) stands for every principal of the account.
      {34, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},)"
                   R"("Action":"s3:GetObject","Resource":"*"})"),
       "arn:aws:iam::111122223333:role/reader", "s3:GetObject", kObj, {}, kAllow},
      {35, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},)"
                   R"("Action":"s3:GetObject","Resource":"*"})"),
       kBob, "s3:GetObject", kObj, {}, kNone},
      {36, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},)"
                   R"("Action":"s3:GetObject","Resource":"*"})"),
       "arn:aws:sts::111122223333:assumed-role/r/session", "s3:GetObject", kObj, {}, kAllow},
      {37, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},)"
                   R"("Action":"s3:GetObject","Resource":"*"})"),
       kAnonymous, "s3:GetObject", kObj, {}, kNone},
      // Anonymous callers are never allowed by identity policies, but denies still count.
      {38, {Doc(kAllowAll)}, "", kAnonymous, "s3:GetObject", kObj, {}, kNone},
      {39, {Doc(kDenyGet)}, Doc(Public()), kAnonymous, "s3:GetObject", kObj, {}, kDeny},
      // NotPrincipal: the Deny applies to everyone but alice, anonymous included.
      {40, {}, Doc(Public() + R"(,{"Effect":"Deny","NotPrincipal":{"AWS":")" + kAlice +
                   R"("},"Action":"s3:*","Resource":"*"})"),
       kBob, "s3:GetObject", kObj, {}, kDeny},
      {41, {}, Doc(Public() + R"(,{"Effect":"Deny","NotPrincipal":{"AWS":")" + kAlice +
                   R"("},"Action":"s3:*","Resource":"*"})"),
       kAlice, "s3:GetObject", kObj, {}, kAllow},
      {42, {}, Doc(Public() + R"(,{"Effect":"Deny","NotPrincipal":{"AWS":")" + kAlice +
                   R"("},"Action":"s3:*","Resource":"*"})"),
       kAnonymous, "s3:GetObject", kObj, {}, kDeny},
      // A "bucket policy" without Principal grants nothing, even to anonymous.
      {44, {}, Doc(kAllowAll), kAnonymous, "s3:GetObject", kObj, {}, kNone},
      {45, {}, Doc(kAllowAll), kAlice, "s3:GetObject", kObj, {}, kNone},
      {46, {}, "", kAlice, "s3:GetObject", kObj, {}, kNone},
      // The bucket policy alone can allow a named user.
      {47, {}, Doc(R"({"Effect":"Allow","Principal":{"AWS":")" + std::string(kBob) +
                   R"("},"Action":"s3:GetObject","Resource":"*"})"),
       kBob, "s3:GetObject", kObj, {}, kAllow},
      // Policy variables in Resource.
      {48, {Doc(kHome)}, "", kAlice, "s3:PutObject", "arn:aws:s3:::bucket/home/alice/x",
       alice_name, kAllow},
      {49, {Doc(kHome)}, "", kAlice, "s3:PutObject", "arn:aws:s3:::bucket/home/bob/x",
       alice_name, kNone},
      {50, {Doc(kHome)}, "", kAlice, "s3:PutObject", "arn:aws:s3:::bucket/home/alice/x", {},
       kNone},
      {51, {Doc(R"({"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${*}x"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::bucket/*x", {}, kAllow},
      {52, {Doc(R"({"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${*}x"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::bucket/ax", {}, kNone},
      // Version 2008-10-17 (or none): ${...} is plain text.
      {53, {R"({"Statement":)" + kHome + "}"}, "", kAlice, "s3:PutObject",
       "arn:aws:s3:::bucket/home/alice/x", alice_name, kNone},
      {54, {R"({"Version":"2008-10-17","Statement":)" + kHome + "}"}, "", kAlice, "s3:PutObject",
       "arn:aws:s3:::bucket/home/${aws:username}/x", alice_name, kAllow},
      {55, {Doc(R"({"Effect":"Allow","Action":"s3:*",)"
                R"("Resource":"arn:aws:s3:::bucket/home/${aws:username, 'guest'}/*"})")},
       "", kAlice, "s3:GetObject", "arn:aws:s3:::bucket/home/guest/x", {}, kAllow},
      // Conditions inside whole decisions.
      {56, {}, Doc(Public() + R"(,{"Effect":"Deny","Principal":"*","Action":"s3:*",)"
                              R"("Resource":"*","Condition":{"Bool":)"
                              R"({"aws:SecureTransport":"false"}}})"),
       kAnonymous, "s3:GetObject", kObj, {{"aws:SecureTransport", {"false"}}}, kDeny},
      {57, {}, Doc(Public() + R"(,{"Effect":"Deny","Principal":"*","Action":"s3:*",)"
                              R"("Resource":"*","Condition":{"Bool":)"
                              R"({"aws:SecureTransport":"false"}}})"),
       kAnonymous, "s3:GetObject", kObj, {{"aws:SecureTransport", {"true"}}}, kAllow},
      {58, {}, Doc(Public(R"(,"Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})")),
       kAnonymous, "s3:GetObject", kObj, {{"aws:SourceIp", {"192.0.2.10"}}}, kAllow},
      {59, {}, Doc(Public(R"(,"Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}})")),
       kAnonymous, "s3:GetObject", kObj, {{"aws:SourceIp", {"198.51.100.1"}}}, kNone},
      // A Lambda function policy for a service principal, pinned by aws:SourceArn.
      {60, {}, Doc(R"({"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},)"
                   R"("Action":"lambda:InvokeFunction","Resource":"*","Condition":)"
                   R"({"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket"}}})"),
       "s3.amazonaws.com", "lambda:InvokeFunction",
       "arn:aws:lambda:us-east-1:111122223333:function:f",
       {{"aws:SourceArn", {"arn:aws:s3:::bucket"}}}, kAllow},
      {61, {Doc(kAllowGet)}, Doc(Public()), kAlice, "s3:GetObject", kObj, {}, kAllow},
  };
  // clang-format on
}

TEST(AuthorizeTest, Table) {
  for (const AuthCase& c : Cases()) {
    SCOPED_TRACE("case " + std::to_string(c.id));
    std::vector<Policy> identity;
    for (const std::string& doc : c.identity) {
      auto p = Policy::Parse(doc);
      ASSERT_TRUE(p.ok()) << p.status().ToString() << "\n" << doc;
      identity.push_back(*p);
    }
    std::vector<const Policy*> identity_ptrs;
    for (const Policy& p : identity) identity_ptrs.push_back(&p);
    std::optional<Policy> bucket;
    if (!c.bucket.empty()) {
      auto p = Policy::Parse(c.bucket);
      ASSERT_TRUE(p.ok()) << p.status().ToString() << "\n" << c.bucket;
      bucket = *p;
    }
    auto request = testing::Request(c.principal, c.action, c.resource, c.context);
    EXPECT_EQ(Authorize(identity_ptrs, bucket ? &*bucket : nullptr, request), c.want);
  }
}

TEST(AuthorizeTest, NullIdentityPoliciesAreSkipped) {
  auto allow = Policy::Parse(Doc(kAllowGet));
  ASSERT_TRUE(allow.ok());
  auto request = testing::Request(kAlice, "s3:GetObject", kObj);
  EXPECT_EQ(Authorize({nullptr, &*allow}, nullptr, request), kAllow);
}

TEST(EvaluateTest, MatchValues) {
  auto policy = Policy::Parse(Doc(kAllowGet + R"(,{"Effect":"Deny","Action":"s3:DeleteObject",)"
                                              R"("Resource":"*"})"));
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->Evaluate(testing::Request(kAlice, "s3:GetObject", kObj)), Match::kAllow);
  EXPECT_EQ(policy->Evaluate(testing::Request(kAlice, "s3:DeleteObject", kObj)), Match::kDeny);
  EXPECT_EQ(policy->Evaluate(testing::Request(kAlice, "s3:PutObject", kObj)),
            Match::kNotApplicable);
  EXPECT_FALSE(policy->has_principals());
  Policy copy = *policy;  // copies share the parsed statements
  EXPECT_EQ(copy.Evaluate(testing::Request(kAlice, "s3:GetObject", kObj)), Match::kAllow);
  EXPECT_EQ(copy.json(), policy->json());
}

}  // namespace
}  // namespace sparkify::policy
