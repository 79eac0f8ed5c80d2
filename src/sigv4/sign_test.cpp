// SignHeaders and PresignUrl against the S3 documentation's published examples
// ("Signature Calculations for the Authorization Header", "Transferring Payload in Multiple
// Chunks", "Authenticating Requests: Using Query Parameters"). All examples use
// AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1, 20130524T000000Z.
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "sigv4/sigv4.h"
#include "sigv4/test_util.h"

namespace sparkify::sigv4 {
namespace {

using testing::DocCredentials;
using testing::DocTime;
using testing::HeaderOf;

struct DocExample {
  std::string name;
  std::string method;
  std::string host;
  std::string decoded_path;
  std::string raw_query;
  Headers headers;
  std::string payload_hash;
  std::string signed_headers;
  std::string canonical_request_sha256;  // the string to sign's last line, as published
  std::string signature;
};

std::vector<DocExample> DocExamples() {
  const std::string empty(kEmptySha256);
  return {
      {"GetObjectRange",
       "GET",
       "examplebucket.s3.amazonaws.com",
       "/test.txt",
       "",
       {{"Range", "bytes=0-9"}},
       empty,
       "host;range;x-amz-content-sha256;x-amz-date",
       "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
      {"PutObject",
       "PUT",
       "examplebucket.s3.amazonaws.com",
       "/test$file.text",
       "",
       {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
       Sha256Hex("Welcome to Amazon S3."),
       "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
       "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
      {"GetBucketLifecycle",
       "GET",
       "examplebucket.s3.amazonaws.com",
       "/",
       "lifecycle",
       {},
       empty,
       "host;x-amz-content-sha256;x-amz-date",
       "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
      {"ListObjects",
       "GET",
       "examplebucket.s3.amazonaws.com",
       "/",
       "max-keys=2&prefix=J",
       {},
       empty,
       "host;x-amz-content-sha256;x-amz-date",
       "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
      // Chunked upload: the seed signature of the multiple-chunks example.
      {"ChunkedUploadSeed",
       "PUT",
       "s3.amazonaws.com",
       "/examplebucket/chunkObject.txt",
       "",
       {{"Content-Encoding", "aws-chunked"},
        {"Content-Length", "66824"},
        {"x-amz-decoded-content-length", "66560"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
       std::string(kStreamingSigned),
       "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
       "x-amz-decoded-content-length;x-amz-storage-class",
       "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455",
       "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
      // "Signature calculations for trailing headers": the seed signature.
      {"ChunkedUploadWithTrailerSeed",
       "PUT",
       "s3.amazonaws.com",
       "/examplebucket/chunkObject.txt",
       "",
       {{"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-trailer", "x-amz-checksum-crc32c"}},
       std::string(kStreamingSignedTrailer),
       "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
       "x-amz-storage-class;x-amz-trailer",
       "",
       "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"},
  };
}

TEST(SignHeaders, ReproducesEveryS3DocumentationExample) {
  for (const DocExample& ex : DocExamples()) {
    SCOPED_TRACE(ex.name);
    SignRequest req;
    req.method = ex.method;
    req.host = ex.host;
    req.decoded_path = ex.decoded_path;
    req.raw_query = ex.raw_query;
    req.headers = ex.headers;
    req.payload_hash = ex.payload_hash;
    req.time = DocTime();
    Headers out = SignHeaders(req, DocCredentials());
    EXPECT_EQ(HeaderOf(out, "host"), ex.host);
    EXPECT_EQ(HeaderOf(out, "x-amz-date"), "20130524T000000Z");
    EXPECT_EQ(HeaderOf(out, "x-amz-content-sha256"), ex.payload_hash);
    EXPECT_EQ(HeaderOf(out, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request, SignedHeaders=" +
                  ex.signed_headers + ", Signature=" + ex.signature);

    if (ex.canonical_request_sha256.empty()) continue;
    Headers all = ex.headers;
    for (const auto& h : out) all.push_back(h);
    std::vector<std::string> names;
    for (const auto& h : all) {
      if (h.first != "authorization") names.push_back(h.first);
    }
    auto ch = BuildCanonicalHeaders(all, names);
    ASSERT_TRUE(ch);
    std::string creq = CanonicalRequest(ex.method, CanonicalUri(ex.decoded_path, true),
                                        *CanonicalQuery(ex.raw_query), *ch, ex.payload_hash);
    EXPECT_EQ(Sha256Hex(creq), ex.canonical_request_sha256);
  }
}

TEST(PresignUrl, ReproducesTheS3DocumentationExampleToTheLetter) {
  SignRequest req;
  req.host = "examplebucket.s3.amazonaws.com";
  req.decoded_path = "/test.txt";
  req.time = DocTime();
  EXPECT_EQ(PresignUrl(req, DocCredentials(), 86400),
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(PresignUrl, EncodesTheKeyOnceKeepsCallerQueryAndSignsTheToken) {
  SignRequest req;
  req.method = "PUT";
  req.scheme = "http";
  req.host = "127.0.0.1:9000";
  req.decoded_path = "/bucket/dir/a b+c.txt";
  req.raw_query = "x-id=PutObject";
  req.time = DocTime();
  Credentials creds = DocCredentials();
  creds.session_token = "tok/en+=";
  std::string url = PresignUrl(req, creds, 0);  // clamped to 1
  EXPECT_EQ(url.rfind("http://127.0.0.1:9000/bucket/dir/a%20b%2Bc.txt?", 0), 0u) << url;
  EXPECT_NE(url.find("X-Amz-Expires=1&"), std::string::npos) << url;
  EXPECT_NE(url.find("X-Amz-Security-Token=tok%2Fen%2B%3D&"), std::string::npos) << url;
  EXPECT_NE(url.find("&x-id=PutObject&"), std::string::npos) << url;
  EXPECT_NE(PresignUrl(req, creds, 10'000'000).find("X-Amz-Expires=604800&"), std::string::npos);
}

TEST(SignHeaders, AddsTheSessionTokenAndIgnoresManagedHeadersFromTheCaller) {
  SignRequest req;
  req.host = "examplebucket.s3.amazonaws.com";
  req.decoded_path = "/k";
  req.headers = {{"Host", "evil.example"}, {"Authorization", "x"}, {"X-Amz-Meta-A", "1"}};
  req.time = DocTime();
  Credentials creds = DocCredentials();
  creds.session_token = "TOKEN";
  Headers out = SignHeaders(req, creds);
  EXPECT_EQ(HeaderOf(out, "host"), "examplebucket.s3.amazonaws.com");
  EXPECT_EQ(HeaderOf(out, "x-amz-security-token"), "TOKEN");
  EXPECT_EQ(HeaderOf(out, "x-amz-content-sha256"), kEmptySha256);
  EXPECT_NE(HeaderOf(out, "authorization")
                .find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;"
                      "x-amz-security-token,"),
            std::string::npos);
}

TEST(SignHeaders, OtherServicesGetNoContentSha256Header) {
  SignRequest req;
  req.method = "POST";
  req.host = "lambda.us-east-1.amazonaws.com";
  req.decoded_path = "/2015-03-31/functions/f/invocations";
  req.payload_hash = Sha256Hex("{}");
  req.service = "lambda";
  req.time = DocTime();
  Headers out = SignHeaders(req, DocCredentials());
  EXPECT_EQ(HeaderOf(out, "x-amz-content-sha256"), "");
  EXPECT_NE(
      HeaderOf(out, "authorization").find("/lambda/aws4_request, SignedHeaders=host;x-amz-date,"),
      std::string::npos);
}

}  // namespace
}  // namespace sparkify::sigv4
