#include "store/internal/body_ingest.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/crypto.h"

namespace sparkify::store {
namespace {

struct ChecksumSpec {
  std::string_view name;    // "CRC32", as S3 names the algorithm
  std::string_view header;  // "x-amz-checksum-crc32"
  Hasher::Kind kind;
};
constexpr ChecksumSpec kChecksums[] = {
    {"CRC32", "x-amz-checksum-crc32", Hasher::Kind::kCrc32},
    {"CRC32C", "x-amz-checksum-crc32c", Hasher::Kind::kCrc32c},
    {"SHA1", "x-amz-checksum-sha1", Hasher::Kind::kSha1},
    {"SHA256", "x-amz-checksum-sha256", Hasher::Kind::kSha256},
};

struct ActiveChecksum {
  const ChecksumSpec* spec;
  std::string expected;  // base64; empty until the trailer brings it
  bool from_trailer;
  std::unique_ptr<Hasher> hasher;
};

bool IsStreaming(sigv4::PayloadMode m) {
  return m == sigv4::PayloadMode::kStreamingSigned ||
         m == sigv4::PayloadMode::kStreamingSignedTrailer ||
         m == sigv4::PayloadMode::kStreamingUnsignedTrailer;
}

IngestOutcome Fail(S3ErrorCode code, std::string message = {}) {
  return IngestOutcome{S3Error{code, std::move(message)}, {}};
}

}  // namespace

std::string StoredContentEncoding(std::string_view header) {
  // The comma-separated tokens, trimmed of spaces.
  std::vector<std::string_view> tokens;
  for (std::string_view rest = header; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    tokens.push_back(token);
  }
  // Without aws-chunked the header is kept exactly as sent ("gzip, br" stays so).
  if (std::find(tokens.begin(), tokens.end(), "aws-chunked") == tokens.end()) {
    return std::string(header);
  }
  std::string out;
  for (std::string_view token : tokens) {
    if (token.empty() || token == "aws-chunked") continue;
    if (!out.empty()) out += ",";
    out += token;
  }
  return out;
}

IngestOutcome IngestBody(const S3Call& call, diskstore::ObjectWriter* writer, uint64_t max_size) {
  const http::Request& req = *call.http;
  const bool streaming = IsStreaming(call.auth.payload_mode);

  // Declared size.
  std::optional<uint64_t> declared;
  if (streaming) {
    declared = call.auth.decoded_content_length;
    if (!declared) {
      return Fail(S3ErrorCode::kMissingContentLength,
                  "aws-chunked uploads must send x-amz-decoded-content-length");
    }
  } else if (req.content_length) {
    declared = req.content_length;
  } else if (!req.chunked) {
    return Fail(S3ErrorCode::kMissingContentLength);
  }
  if (declared && *declared > max_size) {
    return Fail(S3ErrorCode::kEntityTooLarge, "Your proposed upload of " +
                                                  std::to_string(*declared) +
                                                  " bytes exceeds the maximum allowed size of " +
                                                  std::to_string(max_size) + " bytes.");
  }

  // What the client promised about the content.
  std::optional<std::string> md5;
  if (auto h = req.Header("content-md5")) {
    md5 = Base64Decode(*h);
    if (!md5 || md5->size() != 16) return Fail(S3ErrorCode::kInvalidDigest);
  }
  std::vector<ActiveChecksum> checksums;
  for (const auto& spec : kChecksums) {
    bool in_trailer = false;
    for (const auto& t : call.auth.trailer_names) in_trailer |= t == spec.header;
    auto value = req.Header(spec.header);
    if (value || in_trailer) {
      checksums.push_back({&spec, value ? std::string(*value) : std::string(), !value,
                           Hasher::Create(spec.kind)});
    }
  }
  for (const auto& t : call.auth.trailer_names) {
    bool known = false;
    for (const auto& spec : kChecksums) known |= t == spec.header;
    if (!known) return Fail(S3ErrorCode::kInvalidRequest, "unsupported trailer " + t);
  }
  std::unique_ptr<Hasher> sha256;
  if (call.auth.payload_mode == sigv4::PayloadMode::kSignedHash) {
    sha256 = Hasher::Create(Hasher::Kind::kSha256);
  }
  std::optional<sigv4::AwsChunkedDecoder> decoder;
  if (streaming) decoder.emplace(call.auth);

  // Stream the body.
  std::vector<char> buf(256 * 1024);
  std::string decoded;
  uint64_t total = 0;
  for (;;) {
    auto n = req.body->Read(buf.data(), buf.size());
    if (!n.ok()) return IngestOutcome{FromStatus(n.status()), {}};
    if (*n == 0) break;
    std::string_view data(buf.data(), *n);
    if (decoder) {
      decoded.clear();
      Status s = decoder->Feed(data, &decoded);
      if (!s.ok()) {
        if (s.code() == Status::Code::kPermissionDenied) {
          return Fail(S3ErrorCode::kSignatureDoesNotMatch, s.message());
        }
        return Fail(S3ErrorCode::kIncompleteBody, s.message());
      }
      data = decoded;
    }
    total += data.size();
    if (total > max_size || (declared && total > *declared)) {
      return Fail(S3ErrorCode::kIncompleteBody, "the body is longer than declared");
    }
    if (data.empty()) continue;
    Status s = writer->Append(data);
    if (!s.ok()) {
      spdlog::warn("{} {}: {}", call.request_id, call.op.name, s.ToString());
      return IngestOutcome{FromStoreStatus(s), {}};
    }
    if (sha256) sha256->Update(data);
    for (auto& c : checksums) c.hasher->Update(data);
  }
  if (decoder && !decoder->done()) {
    return Fail(S3ErrorCode::kIncompleteBody, "the aws-chunked body ended early");
  }
  if (declared && total != *declared) return Fail(S3ErrorCode::kIncompleteBody);

  // Verify.
  if (sha256 && !ConstantTimeEquals(HexEncode(sha256->Finish()), call.auth.payload_sha256_hex)) {
    return Fail(S3ErrorCode::kXAmzContentSHA256Mismatch);
  }
  if (md5 && writer->Md5Hex() != HexEncode(*md5)) {
    return Fail(S3ErrorCode::kBadDigest, "The Content-MD5 you specified did not match what we "
                                         "received.");
  }
  IngestResult result;
  result.size = total;
  for (auto& c : checksums) {
    if (c.from_trailer) {
      for (const auto& [name, value] : decoder ? decoder->trailers() : sigv4::Headers{}) {
        if (name == c.spec->header) c.expected = value;
      }
      if (c.expected.empty()) {
        return Fail(S3ErrorCode::kInvalidRequest,
                    "the trailer " + std::string(c.spec->header) + " was declared but not sent");
      }
    }
    std::string actual = Base64Encode(c.hasher->Finish());
    if (actual != c.expected) {
      return Fail(S3ErrorCode::kBadDigest, "The " + std::string(c.spec->name) +
                                               " you specified did not match the calculated "
                                               "checksum.");
    }
    result.checksums[std::string(c.spec->name)] = actual;
  }
  return IngestOutcome{std::nullopt, std::move(result)};
}

}  // namespace sparkify::store
