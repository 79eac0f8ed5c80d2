// The generated policies, checked with our own evaluator: each principal may do exactly what
// access.h promises and nothing else.
#include "access/access.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace sparkify::access {
namespace {

constexpr char kBucket[] = "sparkify";
constexpr char kFunctionArn[] = "arn:aws:lambda:eu-west-1:123456789012:function:sparkify";
constexpr char kOtherFunctionArn[] = "arn:aws:lambda:eu-west-1:123456789012:function:other";

policy::Policy Parsed(Principal principal) {
  auto p = policy::Policy::Parse(PolicyDocument(principal, {kBucket, kFunctionArn}),
                                 {.kind = policy::PolicyKind::kIdentity});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

struct Case {
  int line;
  const char* principal;  // "function", "web" or "" (anonymous)
  const char* action;
  const char* resource;
  bool allowed;
};

std::string Object(const std::string& key) {
  return std::string("arn:aws:s3:::") + kBucket + "/" + key;
}
const std::string kBucketArn = std::string("arn:aws:s3:::") + kBucket;

const Case kCases[] = {
    // The function reads covers and cut-outs, writes cut-outs.
    {__LINE__, "function", "s3:GetObject", "uploads/abc.jpg", true},
    {__LINE__, "function", "s3:GetObject", "cutouts/abc-isnet.png", true},
    {__LINE__, "function", "s3:PutObject", "cutouts/abc-isnet.png", true},
    // ... and nothing else.
    {__LINE__, "function", "s3:PutObject", "uploads/abc.jpg", false},
    {__LINE__, "function", "s3:PutObject", "collages/x.png", false},
    {__LINE__, "function", "s3:GetObject", "collages/x.png", false},
    {__LINE__, "function", "s3:GetObject", "iam/root.json", false},
    {__LINE__, "function", "s3:DeleteObject", "cutouts/abc-isnet.png", false},
    {__LINE__, "function", "s3:DeleteObject", "uploads/abc.jpg", false},
    {__LINE__, "function", "s3:ListBucket", "", false},
    {__LINE__, "function", "s3:ListBucketMultipartUploads", "", false},
    {__LINE__, "function", "s3:PutBucketPolicy", "", false},
    {__LINE__, "function", "s3:DeleteBucket", "", false},
    {__LINE__, "function", "lambda:InvokeFunction", "FUNCTION", false},
    // The web app writes covers and collages, reads all three prefixes, invokes the function.
    {__LINE__, "web", "s3:PutObject", "uploads/abc.jpg", true},
    {__LINE__, "web", "s3:PutObject", "collages/job-1.png", true},
    {__LINE__, "web", "s3:GetObject", "uploads/abc.jpg", true},
    {__LINE__, "web", "s3:GetObject", "cutouts/abc-isnet.png", true},
    {__LINE__, "web", "s3:GetObject", "collages/job-1.png", true},
    {__LINE__, "web", "lambda:InvokeFunction", "FUNCTION", true},
    // ... and nothing else: no cut-outs of its own, no listing, no deleting.
    {__LINE__, "web", "s3:PutObject", "cutouts/abc-isnet.png", false},
    {__LINE__, "web", "s3:PutObject", "elsewhere.png", false},
    {__LINE__, "web", "s3:GetObject", "elsewhere.png", false},
    {__LINE__, "web", "s3:DeleteObject", "uploads/abc.jpg", false},
    {__LINE__, "web", "s3:DeleteObject", "collages/job-1.png", false},
    {__LINE__, "web", "s3:ListBucket", "", false},
    {__LINE__, "web", "s3:PutBucketPolicy", "", false},
    {__LINE__, "web", "s3:PutPublicAccessBlock", "", false},
    {__LINE__, "web", "s3:AbortMultipartUpload", "uploads/abc.jpg", false},
    {__LINE__, "web", "lambda:InvokeFunction", "OTHER", false},
    {__LINE__, "web", "lambda:UpdateFunctionCode", "FUNCTION", false},
    // Anonymous is always denied: identity policies cannot allow it.
    {__LINE__, "", "s3:GetObject", "cutouts/abc-isnet.png", false},
    {__LINE__, "", "s3:GetObject", "uploads/abc.jpg", false},
    {__LINE__, "", "lambda:InvokeFunction", "FUNCTION", false},
};

TEST(AccessTest, EachPrincipalMayDoExactlyWhatItNeeds) {
  policy::Policy function = Parsed(Principal::kFunction);
  policy::Policy web = Parsed(Principal::kWeb);
  for (const Case& c : kCases) {
    policy::RequestContext ctx;
    std::string who = c.principal;
    ctx.action = c.action;
    std::string resource = c.resource;
    if (resource == "FUNCTION") {
      ctx.resource = kFunctionArn;
    } else if (resource == "OTHER") {
      ctx.resource = kOtherFunctionArn;
    } else {
      ctx.resource = resource.empty() ? kBucketArn : Object(resource);
    }
    std::vector<const policy::Policy*> identity;
    if (!who.empty()) {
      ctx.principal_arn = "arn:aws:iam::000000000000:user/" + who;
      identity.push_back(who == "function" ? &function : &web);
    } else {
      // Anonymous requests carry no identity policy, even if one existed.
      identity = {&function, &web};
    }
    policy::Decision d = policy::Authorize(identity, nullptr, ctx);
    EXPECT_EQ(d == policy::Decision::kAllow, c.allowed)
        << "case at line " << c.line << ": " << (who.empty() ? "anonymous" : who) << " " << c.action
        << " " << ctx.resource;
  }
}

TEST(AccessTest, DocumentsAreStableIdentityPolicies) {
  for (Principal p : {Principal::kFunction, Principal::kWeb}) {
    std::string a = PolicyDocument(p, {kBucket, kFunctionArn});
    EXPECT_EQ(a, PolicyDocument(p, {kBucket, kFunctionArn}));
    EXPECT_EQ(a.back(), '\n');
    auto doc = nlohmann::json::parse(a);
    EXPECT_EQ(doc["Version"], "2012-10-17");
    for (const auto& s : doc["Statement"]) {
      EXPECT_EQ(s["Effect"], "Allow");  // least privilege by omission: no broad Allow to undo
      EXPECT_FALSE(s.contains("Principal"));
      for (const auto& r : s["Resource"]) {
        EXPECT_NE(r.get<std::string>(), "*");
        EXPECT_NE(r.get<std::string>(), "arn:aws:s3:::" + std::string(kBucket) + "/*");
      }
    }
  }
}

TEST(AccessTest, PlaceholdersPassThroughVerbatim) {
  std::string doc = PolicyDocument(Principal::kWeb, {"${Bucket}", "${FunctionArn}"});
  EXPECT_NE(doc.find("\"arn:aws:s3:::${Bucket}/uploads/*\""), std::string::npos);
  EXPECT_NE(doc.find("\"${FunctionArn}\""), std::string::npos);
  EXPECT_EQ(PolicyDocument(Principal::kFunction, {"${Bucket}", "x"}).find("x\""),
            std::string::npos);  // the function's policy does not name any function
}

TEST(AccessTest, PrincipalNamesRoundTrip) {
  for (Principal p : {Principal::kFunction, Principal::kWeb}) {
    EXPECT_EQ(*ParsePrincipal(PrincipalName(p)), p);
  }
  auto bad = ParsePrincipal("root");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected function or web"), std::string::npos);
}

}  // namespace
}  // namespace sparkify::access
