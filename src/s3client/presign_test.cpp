// PresignS3Url, the function behind `sparkify presign`: the S3 documentation's example to the
// letter, path style for other endpoints, and a table of refused inputs.
#include <gtest/gtest.h>

#include "s3client/s3client.h"

namespace sparkify::s3client {
namespace {

PresignRequest DocRequest() {
  PresignRequest r;
  r.s3_url = "s3://examplebucket/test.txt";
  r.expires_seconds = 86400;
  r.time = *ParseAmzDate("20130524T000000Z");
  r.credentials = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  return r;
}

TEST(PresignS3Url, ReproducesTheFactsExampleToTheLetter) {
  // docs/sigv4.md / S3 docs "Authenticating Requests: Using Query Parameters".
  auto url = PresignS3Url(DocRequest());
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(*url,
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(PresignS3Url, OtherEndpointsArePathStyleAndKeysAreEncodedOnce) {
  PresignRequest r = DocRequest();
  r.endpoint = "http://127.0.0.1:9000/";
  r.s3_url = "s3://examplebucket/dir/my file+1.txt";
  r.method = "PUT";
  auto url = PresignS3Url(r);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("http://127.0.0.1:9000/examplebucket/dir/my%20file%2B1.txt?X-Amz-", 0), 0u)
      << *url;
  // A default port is dropped, as clients leave it out of the Host header.
  r.endpoint = "https://minio.example:443";
  EXPECT_EQ(PresignS3Url(r)->rfind("https://minio.example/examplebucket/", 0), 0u);
  // On AWS, a bucket name that cannot be a DNS label under TLS falls back to path style.
  r.endpoint = "https://s3.amazonaws.com";
  r.s3_url = "s3://my.dotted.bucket/k";
  EXPECT_EQ(PresignS3Url(r)->rfind("https://s3.amazonaws.com/my.dotted.bucket/k?", 0), 0u);
  // The session token is signed into the URL.
  r.credentials.session_token = "tok";
  EXPECT_NE(PresignS3Url(r)->find("&X-Amz-Security-Token=tok&"), std::string::npos);
}

TEST(PresignS3Url, RefusesBadInput) {
  struct Case {
    std::string name;
    void (*edit)(PresignRequest*);
  };
  const Case cases[] = {
      {"NoScheme", [](PresignRequest* r) { r->s3_url = "examplebucket/test.txt"; }},
      {"NoKey", [](PresignRequest* r) { r->s3_url = "s3://examplebucket/"; }},
      {"NoBucket", [](PresignRequest* r) { r->s3_url = "s3:///key"; }},
      {"BucketOnly", [](PresignRequest* r) { r->s3_url = "s3://examplebucket"; }},
      {"Method", [](PresignRequest* r) { r->method = "POST"; }},
      {"ExpiresZero", [](PresignRequest* r) { r->expires_seconds = 0; }},
      {"ExpiresTooLong", [](PresignRequest* r) { r->expires_seconds = 604801; }},
      {"EndpointScheme", [](PresignRequest* r) { r->endpoint = "ftp://host"; }},
      {"EndpointPath", [](PresignRequest* r) { r->endpoint = "http://host/prefix"; }},
      {"EndpointUserinfo", [](PresignRequest* r) { r->endpoint = "http://u@host"; }},
      {"NoRegion", [](PresignRequest* r) { r->region.clear(); }},
      {"NoSecret", [](PresignRequest* r) { r->credentials.secret_access_key.clear(); }},
  };
  for (const Case& c : cases) {
    PresignRequest r = DocRequest();
    c.edit(&r);
    auto url = PresignS3Url(r);
    ASSERT_FALSE(url.ok()) << c.name;
    EXPECT_EQ(url.status().code(), Status::Code::kInvalidArgument) << c.name;
    EXPECT_EQ(url.status().message().find("wJalrXUtnFEMI"), std::string::npos);
  }
}

}  // namespace
}  // namespace sparkify::s3client
