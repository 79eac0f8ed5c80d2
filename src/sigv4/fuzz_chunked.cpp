// libFuzzer target: AwsChunkedDecoder on arbitrary bodies. The first byte picks the mode
// (signed, signed trailer, unsigned trailer) and the piece size; the body is decoded once whole
// and once in pieces, and both runs must agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sigv4/fuzz_common.h"

namespace {

using namespace sparkify::sigv4;

// The seed signature the corpus was chained from (any 64 hex digits would do).
constexpr char kSeed[] = "1111111111111111111111111111111111111111111111111111111111111111";

Verified Streaming(PayloadMode mode) {
  Verified v;
  v.type = AuthType::kHeader;
  v.payload_mode = mode;
  v.amz_date = "20240301T120000Z";
  v.scope = CredentialScope("20240301", "us-east-1", "s3");
  v.signing_key = SigningKey(fuzz::kSecret, "20240301", "us-east-1", "s3");
  v.seed_signature = kSeed;
  v.trailer_names = {"x-amz-checksum-crc32"};
  return v;
}

struct Run {
  bool ok = true;
  bool done = false;
  std::string out;
};

Run Decode(const Verified& v, std::string_view body, size_t piece) {
  AwsChunkedDecoder d(v, 1 << 16);
  Run r;
  while (!body.empty() && r.ok) {
    size_t n = std::min(piece, body.size());
    r.ok = d.Feed(body.substr(0, n), &r.out).ok();
    body.remove_prefix(n);
  }
  r.done = d.done();
  if (r.ok && d.decoded_bytes() != r.out.size()) __builtin_trap();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const PayloadMode modes[] = {PayloadMode::kStreamingSigned, PayloadMode::kStreamingSignedTrailer,
                               PayloadMode::kStreamingUnsignedTrailer};
  Verified v = Streaming(modes[data[0] % 3]);
  size_t piece = 1 + data[0] / 3 % 16;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  Run whole = Decode(v, body, body.size() + 1);
  Run split = Decode(v, body, piece);
  if (whole.ok != split.ok || whole.done != split.done) __builtin_trap();
  if (whole.ok && whole.out != split.out) __builtin_trap();
  return 0;
}
