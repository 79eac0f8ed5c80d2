// Verify: round trips through our own signer in every auth and payload mode, then a table of
// numbered failure cases, each asserting the AuthError it must produce.
#include <functional>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "sigv4/sigv4.h"
#include "sigv4/test_util.h"

namespace sparkify::sigv4 {
namespace {

using std::chrono::seconds;
using testing::OwnedRequest;

const Credentials kPerm{"AKIDPERM", "perm/secret+key", ""};
const Credentials kTemp{"ASIATEMP", "temp/secret", "the-session-token"};
const char kHost[] = "bucket.s3.amazonaws.com";

TimePoint Now() { return *ParseAmzDate("20240301T120000Z"); }

KeyLookup Keys() {
  return testing::KeysFrom({{kPerm.access_key_id, {kPerm.secret_access_key, ""}},
                            {kTemp.access_key_id, {kTemp.secret_access_key, kTemp.session_token}}});
}

// A header-signed request; `extra` headers are signed and sent.
OwnedRequest HeaderSigned(const Credentials& creds, Headers extra = {},
                          std::string payload = std::string(kEmptySha256)) {
  SignRequest sr;
  sr.method = "PUT";
  sr.host = kHost;
  sr.decoded_path = "/my key+1.txt";
  sr.headers = std::move(extra);
  sr.payload_hash = std::move(payload);
  sr.time = Now();
  return testing::SendSigned(sr, creds);
}

OwnedRequest Presigned(const Credentials& creds) {
  SignRequest sr;
  sr.host = kHost;
  sr.decoded_path = "/dir/../a b+c.txt";
  sr.raw_query = "response-content-type=text%2Fplain";
  sr.time = Now();
  return testing::SendPresigned(sr, creds, 3600);
}

class VerifyTest : public ::testing::Test {
 protected:
  VerifyOutcome Run(const OwnedRequest& r) { return Verify(r.View(), Keys(), options_); }
  ManualClock clock_{Now()};
  VerifyOptions options_{"s3", "us-east-1", true, &clock_};
};

TEST_F(VerifyTest, HeaderAuthRoundTripFillsEveryField) {
  clock_.Advance(seconds(5));
  OwnedRequest r = HeaderSigned(kPerm, {{"x-amz-meta-a", "1"}}, Sha256Hex("body"));
  VerifyOutcome out = Run(r);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  const Verified& v = *out.verified;
  EXPECT_EQ(v.type, AuthType::kHeader);
  EXPECT_EQ(v.access_key_id, "AKIDPERM");
  EXPECT_EQ(v.payload_mode, PayloadMode::kSignedHash);
  EXPECT_EQ(v.payload_sha256_hex, Sha256Hex("body"));
  EXPECT_EQ(v.request_time, Now());
  EXPECT_EQ(v.signature_age_ms, 5000);
  EXPECT_EQ(v.region, "us-east-1");
  EXPECT_EQ(v.amz_date, "20240301T120000Z");
  EXPECT_EQ(v.scope, "20240301/us-east-1/s3/aws4_request");
  EXPECT_EQ(v.signing_key, SigningKey(kPerm.secret_access_key, "20240301", "us-east-1", "s3"));
  EXPECT_EQ(v.seed_signature, testing::SignatureOf(testing::HeaderOf(r.headers, "authorization")));
}

TEST_F(VerifyTest, EveryPayloadModeRoundTrips) {
  const std::pair<std::string, PayloadMode> modes[] = {
      {std::string(kEmptySha256), PayloadMode::kSignedHash},
      {std::string(kUnsignedPayload), PayloadMode::kUnsigned},
      {std::string(kStreamingSigned), PayloadMode::kStreamingSigned},
      {std::string(kStreamingSignedTrailer), PayloadMode::kStreamingSignedTrailer},
      {std::string(kStreamingUnsignedTrailer), PayloadMode::kStreamingUnsignedTrailer},
  };
  for (const auto& [value, mode] : modes) {
    SCOPED_TRACE(value);
    OwnedRequest r =
        HeaderSigned(kPerm,
                     {{"Content-Encoding", "aws-chunked"},
                      {"x-amz-decoded-content-length", "11"},
                      {"x-amz-trailer", "X-Amz-Checksum-Crc32, x-amz-checksum-sha256"}},
                     value);
    VerifyOutcome out = Run(r);
    ASSERT_TRUE(out.ok()) << out.failure->message;
    EXPECT_EQ(out.verified->payload_mode, mode);
    EXPECT_EQ(out.verified->decoded_content_length, 11u);
    EXPECT_EQ(out.verified->trailer_names,
              (std::vector<std::string>{"x-amz-checksum-crc32", "x-amz-checksum-sha256"}));
  }
}

TEST_F(VerifyTest, SignedChunkedUploadEndToEnd) {
  std::string data(20000, 'z');
  OwnedRequest r = HeaderSigned(kPerm, {{"x-amz-decoded-content-length", "20000"}},
                                std::string(kStreamingSigned));
  VerifyOutcome out = Run(r);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  const Verified& v = *out.verified;
  std::string s1 =
      ChunkSignature(v.signing_key, v.amz_date, v.scope, v.seed_signature, data.substr(0, 16384));
  std::string s2 = ChunkSignature(v.signing_key, v.amz_date, v.scope, s1, data.substr(16384));
  std::string s3 = ChunkSignature(v.signing_key, v.amz_date, v.scope, s2, "");
  std::string body = "4000;chunk-signature=" + s1 + "\r\n" + data.substr(0, 16384) +
                     "\r\ne20;chunk-signature=" + s2 + "\r\n" + data.substr(16384) +
                     "\r\n0;chunk-signature=" + s3 + "\r\n\r\n";
  AwsChunkedDecoder decoder(v);
  std::string decoded;
  ASSERT_TRUE(decoder.Feed(body, &decoded).ok());
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoded, data);
}

TEST_F(VerifyTest, DateHeaderCanStandInForXAmzDate) {
  OwnedRequest r;
  r.raw_path = "/k";
  r.headers = {{"Host", kHost},
               {"Date", FormatHttpDate(Now())},
               {"x-amz-content-sha256", std::string(kEmptySha256)}};
  auto ch = BuildCanonicalHeaders(r.headers, {"host", "date", "x-amz-content-sha256"});
  ASSERT_TRUE(ch);
  std::string scope = CredentialScope("20240301", "us-east-1", "s3");
  std::string sts = StringToSign(FormatAmzDate(Now()), scope,
                                 CanonicalRequest("GET", "/k", "", *ch, kEmptySha256));
  std::string key = SigningKey(kPerm.secret_access_key, "20240301", "us-east-1", "s3");
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDPERM/" + scope +
                                              ",SignedHeaders=" + ch->signed_headers +
                                              ",Signature=" + Signature(key, sts));
  VerifyOutcome out = Run(r);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  EXPECT_EQ(out.verified->amz_date, "20240301T120000Z");
}

TEST_F(VerifyTest, PresignedRoundTripWithAndWithoutSessionToken) {
  for (const Credentials& creds : {kPerm, kTemp}) {
    clock_.Set(Now() + seconds(3599));
    VerifyOutcome out = Run(Presigned(creds));
    ASSERT_TRUE(out.ok()) << out.failure->message;
    EXPECT_EQ(out.verified->type, AuthType::kPresigned);
    EXPECT_EQ(out.verified->access_key_id, creds.access_key_id);
    EXPECT_EQ(out.verified->payload_mode, PayloadMode::kUnsigned);
    EXPECT_EQ(out.verified->signature_age_ms, 3599000);
  }
}

TEST_F(VerifyTest, SessionTokenInHeaderRoundTrips) {
  VerifyOutcome out = Run(HeaderSigned(kTemp));
  ASSERT_TRUE(out.ok()) << out.failure->message;
  EXPECT_EQ(out.verified->access_key_id, "ASIATEMP");
}

TEST_F(VerifyTest, AnonymousRequestsPassThroughWithTheirPayloadMode) {
  OwnedRequest r;
  r.headers = {{"Host", kHost}, {"x-amz-content-sha256", std::string(kUnsignedPayload)}};
  VerifyOutcome out = Run(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.verified->type, AuthType::kAnonymous);
  EXPECT_EQ(out.verified->payload_mode, PayloadMode::kUnsigned);
  r.headers.pop_back();
  out = Run(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.verified->payload_mode, PayloadMode::kNone);
  EXPECT_TRUE(out.verified->access_key_id.empty());
}

TEST_F(VerifyTest, OtherServicesSignTheBodyHashTheCallerComputed) {
  SignRequest sr;
  sr.method = "POST";
  sr.host = "127.0.0.1:9001";
  sr.decoded_path = "/2015-03-31/functions/function/invocations";
  sr.payload_hash = Sha256Hex("{\"k\":1}");
  sr.service = "lambda";
  sr.time = Now();
  OwnedRequest r;
  r.method = "POST";
  r.raw_path = sr.decoded_path;
  r.headers = SignHeaders(sr, kPerm);
  options_.service = "lambda";
  options_.require_content_sha256 = false;
  VerifyOutcome missing = Run(r);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.failure->error, AuthError::kMissingContentSha256);
  r.body_sha256_hex = Sha256Hex("{\"k\":1}");
  VerifyOutcome out = Run(r);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  EXPECT_EQ(out.verified->payload_mode, PayloadMode::kSignedHash);
  r.body_sha256_hex = Sha256Hex("{\"k\":2}");
  EXPECT_EQ(Run(r).failure->error, AuthError::kSignatureMismatch);
}

TEST_F(VerifyTest, MismatchReportsTheCanonicalRequestButNoSecret) {
  OwnedRequest r = HeaderSigned(kPerm);
  r.raw_path = "/other";
  VerifyOutcome out = Run(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->error, AuthError::kSignatureMismatch);
  EXPECT_EQ(out.failure->canonical_request.rfind("PUT\n/other\n", 0), 0u);
  EXPECT_EQ(out.failure->string_to_sign.rfind("AWS4-HMAC-SHA256\n20240301T120000Z\n", 0), 0u);
}

}  // namespace
}  // namespace sparkify::sigv4
