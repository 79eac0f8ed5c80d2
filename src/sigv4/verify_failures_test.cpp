// Verify's failure modes: one numbered row per way a request can be wrong, each with the
// AuthError it must produce; and no failure message may carry a secret or a session token.
#include <functional>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "sigv4/sigv4.h"
#include "sigv4/test_util.h"

namespace sparkify::sigv4 {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::OwnedRequest;
using testing::SetHeader;

const Credentials kPerm{"AKIDPERM", "perm/secret+key", ""};
const Credentials kTemp{"ASIATEMP", "temp/secret", "the-session-token"};

TimePoint Now() { return *ParseAmzDate("20240301T120000Z"); }

KeyLookup Keys() {
  return testing::KeysFrom({{kPerm.access_key_id, {kPerm.secret_access_key, ""}},
                            {kTemp.access_key_id, {kTemp.secret_access_key, kTemp.session_token}}});
}

SignRequest Base() {
  SignRequest sr;
  sr.method = "PUT";
  sr.host = "bucket.s3.amazonaws.com";
  sr.decoded_path = "/photos/a b+c.jpg";
  sr.raw_query = "x-id=PutObject";
  sr.headers = {{"x-amz-meta-owner", "ana"}, {"Content-Type", "image/jpeg"}};
  sr.payload_hash = Sha256Hex("jpeg bytes");
  sr.time = Now();
  return sr;
}

OwnedRequest Signed(const Credentials& c = kPerm, std::function<void(SignRequest*)> edit = {}) {
  SignRequest sr = Base();
  if (edit) edit(&sr);
  return testing::SendSigned(sr, c);
}

OwnedRequest Presigned(const Credentials& c = kPerm, int64_t expires = 3600, TimePoint t = Now()) {
  SignRequest sr = Base();
  sr.method = "GET";
  sr.headers.clear();
  sr.time = t;
  return testing::SendPresigned(sr, c, expires);
}

// Replaces the value of query parameter `key` (which must be present) by `value`.
OwnedRequest WithParam(OwnedRequest r, const std::string& key, const std::string& value) {
  size_t at = r.raw_query.find(key + "=");
  size_t start = at + key.size() + 1;
  size_t end = r.raw_query.find('&', start);
  r.raw_query.replace(start, end == std::string::npos ? std::string::npos : end - start, value);
  return r;
}

OwnedRequest WithHeader(OwnedRequest r, const std::string& name, const std::string& value) {
  SetHeader(&r.headers, name, value);
  return r;
}

OwnedRequest Without(OwnedRequest r, const std::string& name) {
  std::erase_if(r.headers, [&](const auto& h) { return h.first == name; });
  return r;
}

// An Authorization header that parses up to the point under test.
OwnedRequest WithAuthorization(const std::string& value) {
  return WithHeader(Signed(), "authorization", value);
}

struct FailureCase {
  int id;
  std::string name;
  std::function<OwnedRequest()> make;
  AuthError want;
  seconds clock_offset{0};
};

std::vector<FailureCase> Cases() {
  const std::string cred = "Credential=AKIDPERM/20240301/us-east-1/s3/aws4_request";
  const std::string sig = "Signature=" + std::string(64, 'a');
  const std::string hdrs = "SignedHeaders=host;x-amz-date";
  using E = AuthError;
  return {
      // Tampering after signing.
      {1, "TamperedPath",
       [] {
         auto r = Signed();
         r.raw_path = "/photos/a%20b%2Bd.jpg";
         return r;
       },
       E::kSignatureMismatch},
      {2, "TamperedQueryAdded",
       [] {
         auto r = Signed();
         r.raw_query += "&acl";
         return r;
       },
       E::kSignatureMismatch},
      {3, "TamperedQueryValue", [] { return WithParam(Signed(), "x-id", "GetObject"); },
       E::kSignatureMismatch},
      {4, "TamperedSignedHeader", [] { return WithHeader(Signed(), "x-amz-meta-owner", "eve"); },
       E::kSignatureMismatch},
      {5, "TamperedMethod",
       [] {
         auto r = Signed();
         r.method = "DELETE";
         return r;
       },
       E::kSignatureMismatch},
      {6, "TamperedPayloadHash",
       [] { return WithHeader(Signed(), "x-amz-content-sha256", Sha256Hex("other")); },
       E::kSignatureMismatch},
      {7, "UnsignedAmzHeaderAdded", [] { return WithHeader(Signed(), "x-amz-acl", "public-read"); },
       E::kSignatureMismatch},
      {8, "SignedHeaderMissing", [] { return Without(Signed(), "x-amz-meta-owner"); },
       E::kSignatureMismatch},
      {9, "TamperedPresignedPath",
       [] {
         auto r = Presigned();
         r.raw_path = "/photos/other.jpg";
         return r;
       },
       E::kSignatureMismatch},
      {10, "TamperedPresignedExpires",
       [] { return WithParam(Presigned(), "X-Amz-Expires", "7200"); }, E::kSignatureMismatch},
      {11, "PresignedUnsignedAmzHeader",
       [] { return WithHeader(Presigned(), "x-amz-acl", "public-read"); }, E::kSignatureMismatch},
      {12, "HostNotSigned",
       [] {
         return WithAuthorization("AWS4-HMAC-SHA256 " +
                                  std::string("Credential=AKIDPERM/20240301/us-east-1/s3/"
                                              "aws4_request, SignedHeaders=x-amz-date, "
                                              "Signature=") +
                                  std::string(64, 'a'));
       },
       E::kSignatureMismatch},
      // Keys and tokens.
      {20, "WrongSecret",
       [] {
         return Signed({"AKIDPERM", "guessed", ""});
       },
       E::kSignatureMismatch},
      {21, "UnknownKey",
       [] {
         return Signed({"AKIDNOBODY", "x", ""});
       },
       E::kUnknownAccessKey},
      {22, "MissingTokenHeader",
       [] {
         return Signed({"ASIATEMP", "temp/secret", ""});
       },
       E::kInvalidToken},
      {23, "WrongTokenHeader",
       [] {
         return Signed({"ASIATEMP", "temp/secret", "forged"});
       },
       E::kInvalidToken},
      {24, "TokenWithPermanentKey",
       [] {
         return Signed({"AKIDPERM", "perm/secret+key", "t"});
       },
       E::kInvalidToken},
      {25, "MissingTokenPresigned",
       [] {
         return Presigned({"ASIATEMP", "temp/secret", ""});
       },
       E::kInvalidToken},
      {26, "WrongTokenPresigned",
       [] {
         return Presigned({"ASIATEMP", "temp/secret", "forged"});
       },
       E::kInvalidToken},
      // Time.
      {30, "SkewedPast", [] { return Signed(); }, E::kRequestTimeTooSkewed, minutes(16)},
      {31, "SkewedFuture", [] { return Signed(); }, E::kRequestTimeTooSkewed, -minutes(16)},
      {32, "Expired", [] { return Presigned(kPerm, 60); }, E::kExpired, seconds(61)},
      {33, "ExpiredAfterSevenDays", [] { return Presigned(kPerm, 604800); }, E::kExpired,
       hours(24 * 7) + seconds(1)},
      {34, "NotYetValid", [] { return Presigned(kPerm, 3600, Now() + hours(1)); }, E::kNotYetValid},
      {35, "ExpiresZero", [] { return WithParam(Presigned(), "X-Amz-Expires", "0"); },
       E::kMalformedPresign},
      {36, "ExpiresTooLong", [] { return WithParam(Presigned(), "X-Amz-Expires", "604801"); },
       E::kMalformedPresign},
      {37, "ExpiresNegative", [] { return WithParam(Presigned(), "X-Amz-Expires", "-1"); },
       E::kMalformedPresign},
      {38, "ExpiresNotANumber", [] { return WithParam(Presigned(), "X-Amz-Expires", "1e3"); },
       E::kMalformedPresign},
      {39, "ExpiresHuge",
       [] { return WithParam(Presigned(), "X-Amz-Expires", "99999999999999999999999"); },
       E::kMalformedPresign},
      {40, "MissingAmzDate", [] { return Without(Signed(), "x-amz-date"); },
       E::kMalformedAuthorization},
      {41, "BadAmzDate", [] { return WithHeader(Signed(), "x-amz-date", "2024-03-01T12:00:00Z"); },
       E::kMalformedAuthorization},
      {42, "CredentialDateMismatch",
       [] { return WithHeader(Signed(), "x-amz-date", "20240302T120000Z"); },
       E::kMalformedAuthorization, hours(24)},
      {43, "AmzDateBeyondTheClockRange",
       [] { return WithHeader(Signed(), "x-amz-date", "99991231T000000Z"); },
       E::kMalformedAuthorization},
      {44, "HttpDateBeyondTheClockRange",
       [] {
         return WithHeader(Without(Signed(), "x-amz-date"), "Date",
                           "Fri, 31 Dec 9999 00:00:00 GMT");
       },
       E::kMalformedAuthorization},
      {45, "PresignDateBeyondTheClockRange",
       [] { return WithParam(Presigned(), "X-Amz-Date", "00010101T000000Z"); },
       E::kMalformedPresign},
      // SigV2.
      {50, "SigV2Header", [] { return WithAuthorization("AWS AKIDPERM:c2lnbmF0dXJl"); },
       E::kSigV2NotSupported},
      {51, "SigV2Query",
       [] {
         OwnedRequest r = testing::FromUrl(
             "GET",
             "https://bucket.s3.amazonaws.com/k?AWSAccessKeyId=AKIDPERM&Expires=1709300000"
             "&Signature=c2ln%2Bbg%3D%3D");
         return r;
       },
       E::kSigV2NotSupported},
      // Malformed Authorization headers.
      {60, "OtherScheme", [] { return WithAuthorization("Bearer abc"); },
       E::kMalformedAuthorization},
      {61, "AlgorithmOnly", [] { return WithAuthorization("AWS4-HMAC-SHA256"); },
       E::kMalformedAuthorization},
      {62, "MissingSignature",
       [=] { return WithAuthorization("AWS4-HMAC-SHA256 " + cred + ", " + hdrs); },
       E::kMalformedAuthorization},
      {63, "MissingCredential",
       [=] { return WithAuthorization("AWS4-HMAC-SHA256 " + hdrs + ", " + sig); },
       E::kMalformedAuthorization},
      {64, "ShortCredential",
       [=] {
         return WithAuthorization("AWS4-HMAC-SHA256 Credential=AKIDPERM/20240301/us-east-1, " +
                                  hdrs + ", " + sig);
       },
       E::kMalformedAuthorization},
      {65, "BadTerminator",
       [=] {
         return WithAuthorization(
             "AWS4-HMAC-SHA256 Credential=AKIDPERM/20240301/us-east-1/s3/aws5, " + hdrs + ", " +
             sig);
       },
       E::kMalformedAuthorization},
      {66, "UnknownComponent",
       [=] {
         return WithAuthorization("AWS4-HMAC-SHA256 " + cred + ", " + hdrs + ", " + sig + ", X=1");
       },
       E::kMalformedAuthorization},
      {67, "RepeatedComponent",
       [=] {
         return WithAuthorization("AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + hdrs + ", " +
                                  sig);
       },
       E::kMalformedAuthorization},
      {68, "SignatureNotHex",
       [=] {
         return WithAuthorization("AWS4-HMAC-SHA256 " + cred + ", " + hdrs +
                                  ", Signature=" + std::string(64, 'G'));
       },
       E::kMalformedAuthorization},
      {69, "EmptySignedHeaders",
       [=] { return WithAuthorization("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, " + sig); },
       E::kMalformedAuthorization},
      {70, "BothMechanisms",
       [] {
         OwnedRequest r = Presigned();
         for (const auto& h : Signed().headers) r.headers.push_back(h);
         return r;
       },
       E::kMalformedAuthorization},
      {71, "BadPercentEscapeInPath",
       [] {
         auto r = Signed();
         r.raw_path = "/a%zz";
         return r;
       },
       E::kMalformedAuthorization},
      // Malformed presigned queries.
      {80, "PresignMissingDate",
       [] {
         auto r = Presigned();
         r.raw_query = r.raw_query.replace(r.raw_query.find("X-Amz-Date"), 10, "X-Amz-Datx");
         return r;
       },
       E::kMalformedPresign},
      {81, "PresignRepeatedSignature",
       [] {
         auto r = Presigned();
         r.raw_query += "&X-Amz-Signature=" + std::string(64, 'b');
         return r;
       },
       E::kMalformedPresign},
      {82, "PresignWrongAlgorithm",
       [] { return WithParam(Presigned(), "X-Amz-Algorithm", "AWS4-HMAC-SHA1"); },
       E::kMalformedPresign},
      {83, "PresignBadCredential",
       [] { return WithParam(Presigned(), "X-Amz-Credential", "AKIDPERM%2F2024"); },
       E::kMalformedPresign},
      {84, "PresignBadEscape",
       [] {
         auto r = Presigned();
         r.raw_query += "&x=%G1";
         return r;
       },
       E::kMalformedPresign},
      // Payload hash and scope.
      {90, "MissingContentSha256", [] { return Without(Signed(), "x-amz-content-sha256"); },
       E::kMissingContentSha256},
      {91, "BadContentSha256", [] { return WithHeader(Signed(), "x-amz-content-sha256", "abc"); },
       E::kBadContentSha256},
      {92, "SigV4aStreamingMode",
       [] {
         return WithHeader(Signed(), "x-amz-content-sha256",
                           "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD");
       },
       E::kBadContentSha256},
      {93, "WrongRegion",
       [] { return Signed(kPerm, [](SignRequest* s) { s->region = "eu-west-1"; }); },
       E::kWrongRegionOrService},
      {94, "WrongService",
       [] { return Signed(kPerm, [](SignRequest* s) { s->service = "lambda"; }); },
       E::kWrongRegionOrService},
      {95, "AnonymousSignedStreaming",
       [] {
         return Without(WithHeader(Signed(), "x-amz-content-sha256", std::string(kStreamingSigned)),
                        "authorization");
       },
       E::kBadContentSha256},
      {96, "BadDecodedContentLength",
       [] {
         return Signed(kPerm, [](SignRequest* s) {
           s->headers.emplace_back("x-amz-decoded-content-length", "12x");
         });
       },
       E::kMalformedAuthorization},
  };
}

TEST(VerifyFailures, EveryRowFailsWithItsError) {
  std::set<int> ids;
  for (const FailureCase& c : Cases()) {
    SCOPED_TRACE(std::to_string(c.id) + " " + c.name);
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id";
    ManualClock clock(Now() + c.clock_offset);
    VerifyOptions options{"s3", "us-east-1", true, &clock};
    OwnedRequest r = c.make();
    VerifyOutcome out = Verify(r.View(), Keys(), options);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(AuthErrorName(out.failure->error), AuthErrorName(c.want)) << out.failure->message;
    EXPECT_FALSE(out.failure->message.empty());
    // The server's secrets (what the client sent, like "forged", may be echoed back).
    for (const std::string& secret :
         {kPerm.secret_access_key, kTemp.secret_access_key, kTemp.session_token}) {
      EXPECT_EQ(out.failure->message.find(secret), std::string::npos) << out.failure->message;
      EXPECT_EQ(out.failure->canonical_request.find(secret), std::string::npos);
    }
  }
}

TEST(VerifyFailures, TheUntamperedRequestsOfTheTablePass) {
  ManualClock clock(Now());
  VerifyOptions options{"s3", "us-east-1", true, &clock};
  for (const OwnedRequest& r : {Signed(), Signed(kTemp), Presigned(), Presigned(kTemp)}) {
    VerifyOutcome out = Verify(r.View(), Keys(), options);
    EXPECT_TRUE(out.ok()) << out.failure->message;
  }
  // Within the allowances: 14 minutes of skew, a presigned URL dated 10 minutes ahead.
  clock.Set(Now() + minutes(14));
  EXPECT_TRUE(Verify(Signed().View(), Keys(), options).ok());
  clock.Set(Now() - minutes(10));
  EXPECT_TRUE(Verify(Presigned().View(), Keys(), options).ok());
  // An empty region option accepts any region.
  options.region.clear();
  clock.Set(Now());
  OwnedRequest eu = Signed(kPerm, [](SignRequest* s) { s->region = "eu-west-1"; });
  EXPECT_TRUE(Verify(eu.View(), Keys(), options).ok());
}

}  // namespace
}  // namespace sparkify::sigv4
