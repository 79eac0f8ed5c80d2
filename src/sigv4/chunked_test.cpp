// AwsChunkedDecoder against the S3 documentation's chunked-upload examples (with and without a
// signed trailer), botocore-style unsigned trailers, arbitrary input splits and bad framing.
#include <random>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "sigv4/sigv4.h"
#include "sigv4/test_util.h"

namespace sparkify::sigv4 {
namespace {

using testing::DocTime;
using testing::kDocSecret;

Verified DocStreaming(PayloadMode mode, std::string seed) {
  Verified v;
  v.type = AuthType::kHeader;
  v.payload_mode = mode;
  v.amz_date = "20130524T000000Z";
  v.scope = CredentialScope("20130524", "us-east-1", "s3");
  v.signing_key = SigningKey(kDocSecret, "20130524", "us-east-1", "s3");
  v.seed_signature = std::move(seed);
  v.decoded_content_length = 66560;
  return v;
}

// "Transferring Payload in Multiple Chunks": 64 KiB + 1 KiB of 'a', 64 KiB chunks.
const char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const char kChunk1[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
const char kChunk2[] = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
const char kFinal[] = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

std::string DocBody() {
  return std::string("10000;chunk-signature=") + kChunk1 + "\r\n" + std::string(65536, 'a') +
         "\r\n400;chunk-signature=" + kChunk2 + "\r\n" + std::string(1024, 'a') +
         "\r\n0;chunk-signature=" + kFinal + "\r\n\r\n";
}

// "Signature calculations for trailing headers": same data, crc32c trailer, signed.
const char kTrailerSeed[] = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
std::string DocTrailerBody(bool blank_line_before_trailer) {
  return std::string(
             "10000;chunk-signature="
             "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
             "\r\n") +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
         "\r\n" +
         (blank_line_before_trailer ? "\r\n" : "") +
         "x-amz-checksum-crc32c:sOO8/Q==\r\n"
         "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
         "\r\n\r\n";
}

// Feeds `body` in pieces of the given sizes (cycled); returns the first error.
Status FeedSplit(AwsChunkedDecoder* d, std::string_view body, const std::vector<size_t>& sizes,
                 std::string* out) {
  size_t i = 0;
  while (!body.empty()) {
    size_t n = std::min(body.size(), sizes[i++ % sizes.size()]);
    SPARKIFY_RETURN_IF_ERROR(d->Feed(body.substr(0, n), out));
    body.remove_prefix(n);
  }
  return Status::OK();
}

TEST(ChunkSignature, ReproducesTheDocumentedChain) {
  Verified v = DocStreaming(PayloadMode::kStreamingSigned, kSeed);
  std::string s1 =
      ChunkSignature(v.signing_key, v.amz_date, v.scope, kSeed, std::string(65536, 'a'));
  EXPECT_EQ(s1, kChunk1);
  std::string s2 = ChunkSignature(v.signing_key, v.amz_date, v.scope, s1, std::string(1024, 'a'));
  EXPECT_EQ(s2, kChunk2);
  EXPECT_EQ(ChunkSignature(v.signing_key, v.amz_date, v.scope, s2, ""), kFinal);
  EXPECT_EQ(TrailerSignature(v.signing_key, v.amz_date, v.scope,
                             "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
                             "x-amz-checksum-crc32c:sOO8/Q==\n"),
            "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
}

TEST(AwsChunkedDecoder, DecodesTheDocumentedBodyUnderAnySplit) {
  const std::string body = DocBody();
  const std::vector<std::vector<size_t>> splits = {{body.size()}, {1},  {2},  {7, 1, 13}, {65536},
                                                   {85},          {86}, {87}, {4096, 3}};
  for (const auto& sizes : splits) {
    AwsChunkedDecoder d(DocStreaming(PayloadMode::kStreamingSigned, kSeed));
    std::string out;
    ASSERT_TRUE(FeedSplit(&d, body, sizes, &out).ok()) << sizes[0];
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, std::string(66560, 'a'));
    EXPECT_EQ(d.decoded_bytes(), 66560u);
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> sizes;
    for (int i = 0; i < 50; ++i) sizes.push_back(1 + rng() % 3000);
    AwsChunkedDecoder d(DocStreaming(PayloadMode::kStreamingSigned, kSeed));
    std::string out;
    ASSERT_TRUE(FeedSplit(&d, body, sizes, &out).ok());
    EXPECT_TRUE(d.done());
  }
}

TEST(AwsChunkedDecoder, IgnoresXAmzTrailerOutsideTheTrailerModes) {
  Verified v = DocStreaming(PayloadMode::kStreamingSigned, kSeed);
  v.trailer_names = {"x-amz-checksum-crc32"};
  AwsChunkedDecoder d(v);
  std::string out;
  ASSERT_TRUE(d.Feed(DocBody(), &out).ok());
  EXPECT_TRUE(d.done());
}

TEST(AwsChunkedDecoder, DecodesTheDocumentedSignedTrailerBody) {
  for (bool blank : {false, true}) {
    Verified v = DocStreaming(PayloadMode::kStreamingSignedTrailer, kTrailerSeed);
    v.trailer_names = {"x-amz-checksum-crc32c"};
    AwsChunkedDecoder d(v);
    std::string out;
    ASSERT_TRUE(FeedSplit(&d, DocTrailerBody(blank), {777}, &out).ok());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, std::string(66560, 'a'));
    ASSERT_EQ(d.trailers().size(), 1u);
    EXPECT_EQ(d.trailers()[0].first, "x-amz-checksum-crc32c");
    EXPECT_EQ(d.trailers()[0].second, "sOO8/Q==");
    auto crc = Hasher::Create(Hasher::Kind::kCrc32c);
    crc->Update(out);
    EXPECT_EQ(Base64Encode(crc->Finish()), "sOO8/Q==");  // the trailer is the real checksum
  }
}

TEST(AwsChunkedDecoder, UnsignedTrailerAsBotocoreSendsIt) {
  std::string data = "hello, chunked world";
  auto crc = Hasher::Create(Hasher::Kind::kCrc32);
  crc->Update(data);
  std::string checksum = Base64Encode(crc->Finish());
  std::string body = "14\r\n" + data + "\r\n0\r\nx-amz-checksum-crc32:" + checksum + "\r\n\r\n";
  Verified v;
  v.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  v.decoded_content_length = data.size();
  v.trailer_names = {"x-amz-checksum-crc32"};
  for (size_t piece : {1u, 3u, 100u}) {
    AwsChunkedDecoder d(v);
    std::string out;
    ASSERT_TRUE(FeedSplit(&d, body, {piece}, &out).ok());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, data);
    ASSERT_EQ(d.trailers().size(), 1u);
    EXPECT_EQ(d.trailers()[0].second, checksum);
  }
}

struct BadBody {
  std::string name;
  PayloadMode mode;
  std::string body;
  Status::Code code;
};

TEST(AwsChunkedDecoder, RefusesBadBodies) {
  const std::string a1(65536, 'a');
  const std::string sig1 = std::string(";chunk-signature=") + kChunk1 + "\r\n";
  const std::string good = DocBody();
  std::string tampered = good;
  tampered[200] = 'b';
  std::string swapped_final = good;
  swapped_final.replace(swapped_final.find(kFinal), 64, kChunk2);
  std::string bad_trailer = DocTrailerBody(false);
  bad_trailer.replace(bad_trailer.find("sOO8/Q=="), 8, "AAAAAA==");
  const Status::Code kInvalid = Status::Code::kInvalidArgument;
  const Status::Code kDenied = Status::Code::kPermissionDenied;
  const BadBody cases[] = {
      {"TamperedData", PayloadMode::kStreamingSigned, tampered, kDenied},
      {"WrongFinalSignature", PayloadMode::kStreamingSigned, swapped_final, kDenied},
      {"MissingSignature", PayloadMode::kStreamingSigned, "10000\r\n" + a1, kInvalid},
      {"ShortSignature", PayloadMode::kStreamingSigned, "10000;chunk-signature=abc\r\n", kInvalid},
      {"BadSize", PayloadMode::kStreamingSigned, "zz" + sig1, kInvalid},
      {"HugeSize", PayloadMode::kStreamingSigned, "fffffffffffffffff" + sig1, kInvalid},
      {"OverMaxChunk", PayloadMode::kStreamingUnsignedTrailer, "2000000\r\n", kInvalid},
      {"BareLf", PayloadMode::kStreamingUnsignedTrailer, "3\nabc\n", kInvalid},
      {"DataLongerThanSize", PayloadMode::kStreamingUnsignedTrailer, "3\r\nabcd\r\n", kInvalid},
      {"ExtensionInUnsignedMode", PayloadMode::kStreamingUnsignedTrailer, "3;x=y\r\n", kInvalid},
      {"LongLine", PayloadMode::kStreamingUnsignedTrailer, std::string(5000, '1'), kInvalid},
      {"DataAfterEnd", PayloadMode::kStreamingSigned, good + "x", kInvalid},
      {"TooLongForDecodedLength", PayloadMode::kStreamingUnsignedTrailer, "10401\r\n", kInvalid},
      {"ShortForDecodedLength", PayloadMode::kStreamingUnsignedTrailer,
       "1\r\na\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", kInvalid},
      {"UndeclaredTrailer", PayloadMode::kStreamingUnsignedTrailer,
       std::string("10400\r\n") + std::string(66560, 'a') + "\r\n0\r\nx-other:1\r\n\r\n", kInvalid},
      {"MissingTrailer", PayloadMode::kStreamingUnsignedTrailer,
       std::string("10400\r\n") + std::string(66560, 'a') + "\r\n0\r\n\r\n\r\n", kInvalid},
      {"TamperedSignedTrailer", PayloadMode::kStreamingSignedTrailer, bad_trailer, kDenied},
      {"NotStreaming", PayloadMode::kUnsigned, "0\r\n\r\n", Status::Code::kFailedPrecondition},
  };
  for (const BadBody& c : cases) {
    SCOPED_TRACE(c.name);
    Verified v =
        DocStreaming(c.mode, c.mode == PayloadMode::kStreamingSignedTrailer ? kTrailerSeed : kSeed);
    if (c.mode != PayloadMode::kStreamingSigned) v.trailer_names = {"x-amz-checksum-crc32"};
    if (c.mode == PayloadMode::kStreamingSignedTrailer) v.trailer_names = {"x-amz-checksum-crc32c"};
    AwsChunkedDecoder d(v, 1 << 20);
    std::string out;
    Status st = FeedSplit(&d, c.body, {c.body.size()}, &out);
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    EXPECT_FALSE(d.done());
    // The error sticks.
    EXPECT_EQ(d.Feed("0\r\n", &out).code(), c.code);
  }
}

TEST(AwsChunkedDecoder, IncompleteBodyIsNotDone) {
  std::string body = DocBody();
  AwsChunkedDecoder d(DocStreaming(PayloadMode::kStreamingSigned, kSeed));
  std::string out;
  ASSERT_TRUE(d.Feed(std::string_view(body).substr(0, body.size() - 2), &out).ok());
  EXPECT_FALSE(d.done());
  ASSERT_TRUE(d.Feed("\r\n", &out).ok());
  EXPECT_TRUE(d.done());
}

TEST(AwsChunkedDecoder, HoldsBackASignedChunkUntilItsSignatureChecks) {
  std::string body = DocBody();
  AwsChunkedDecoder d(DocStreaming(PayloadMode::kStreamingSigned, kSeed));
  std::string out;
  ASSERT_TRUE(d.Feed(std::string_view(body).substr(0, 60000), &out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace sparkify::sigv4
