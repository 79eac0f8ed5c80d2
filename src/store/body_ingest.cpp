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

namespace {

// The size the request declares (x-amz-decoded-content-length for aws-chunked, else
// Content-Length; none for a chunked body), refused over max_size.
std::optional<S3Error> DeclaredSize(const S3Call& call, bool streaming, uint64_t max_size,
                                    std::optional<uint64_t>* declared) {
  const http::Request& req = *call.http;
  if (streaming) {
    *declared = call.auth.decoded_content_length;
    if (!*declared) {
      return S3Error{S3ErrorCode::kMissingContentLength,
                     "aws-chunked uploads must send x-amz-decoded-content-length"};
    }
  } else if (req.content_length) {
    *declared = req.content_length;
  } else if (!req.chunked) {
    return S3Error{S3ErrorCode::kMissingContentLength, ""};
  }
  if (*declared && **declared > max_size) {
    return S3Error{S3ErrorCode::kEntityTooLarge, "Your proposed upload of " +
                                                     std::to_string(**declared) +
                                                     " bytes exceeds the maximum allowed size of " +
                                                     std::to_string(max_size) + " bytes."};
  }
  return std::nullopt;
}

// What the client promised about the content: Content-MD5, x-amz-checksum-* headers or
// trailers (unknown trailers are refused).
std::optional<S3Error> Promises(const S3Call& call, std::optional<std::string>* md5,
                                std::vector<ActiveChecksum>* checksums) {
  const http::Request& req = *call.http;
  if (auto h = req.Header("content-md5")) {
    *md5 = Base64Decode(*h);
    if (!*md5 || (*md5)->size() != 16) return S3Error{S3ErrorCode::kInvalidDigest, ""};
  }
  for (const auto& spec : kChecksums) {
    bool in_trailer = false;
    for (const auto& t : call.auth.trailer_names) in_trailer |= t == spec.header;
    auto value = req.Header(spec.header);
    if (value || in_trailer) {
      checksums->push_back(
          {&spec, value ? std::string(*value) : std::string(), !value, Hasher::Create(spec.kind)});
    }
  }
  for (const auto& t : call.auth.trailer_names) {
    bool known = false;
    for (const auto& spec : kChecksums) known |= t == spec.header;
    if (!known) return S3Error{S3ErrorCode::kInvalidRequest, "unsupported trailer " + t};
  }
  return std::nullopt;
}

// Everything the body is checked against while it streams.
struct BodyChecks {
  std::optional<uint64_t> declared;
  std::optional<std::string> md5;
  std::vector<ActiveChecksum> checksums;
  std::unique_ptr<Hasher> sha256;  // a signed payload hash to check
  std::optional<sigv4::AwsChunkedDecoder> decoder;
  uint64_t total = 0;
};

// Streams the body (decoded from aws-chunked) into the writer, hashing as it goes.
std::optional<S3Error> StreamBody(const S3Call& call, diskstore::ObjectWriter* writer,
                                  uint64_t max_size, BodyChecks& checks) {
  std::vector<char> buf(256 * 1024);
  std::string decoded;
  for (;;) {
    auto n = call.http->body->Read(buf.data(), buf.size());
    if (!n.ok()) return FromStatus(n.status());
    if (*n == 0) break;
    std::string_view data(buf.data(), *n);
    if (checks.decoder) {
      decoded.clear();
      Status s = checks.decoder->Feed(data, &decoded);
      if (!s.ok()) {
        if (s.code() == Status::Code::kPermissionDenied) {
          return S3Error{S3ErrorCode::kSignatureDoesNotMatch, s.message()};
        }
        return S3Error{S3ErrorCode::kIncompleteBody, s.message()};
      }
      data = decoded;
    }
    checks.total += data.size();
    if (checks.total > max_size || (checks.declared && checks.total > *checks.declared)) {
      return S3Error{S3ErrorCode::kIncompleteBody, "the body is longer than declared"};
    }
    if (data.empty()) continue;
    Status s = writer->Append(data);
    if (!s.ok()) {
      spdlog::warn("{} {}: {}", call.request_id, call.op.name, s.ToString());
      return FromStoreStatus(s);
    }
    if (checks.sha256) checks.sha256->Update(data);
    for (auto& c : checks.checksums) c.hasher->Update(data);
  }
  if (checks.decoder && !checks.decoder->done()) {
    return S3Error{S3ErrorCode::kIncompleteBody, "the aws-chunked body ended early"};
  }
  if (checks.declared && checks.total != *checks.declared) {
    return S3Error{S3ErrorCode::kIncompleteBody, ""};
  }
  return std::nullopt;
}

// The streamed body against its promises; the verified checksums into *result.
std::optional<S3Error> Verify(const S3Call& call, diskstore::ObjectWriter* writer,
                              BodyChecks& checks, IngestResult* result) {
  if (checks.sha256 &&
      !ConstantTimeEquals(HexEncode(checks.sha256->Finish()), call.auth.payload_sha256_hex)) {
    return S3Error{S3ErrorCode::kXAmzContentSHA256Mismatch, ""};
  }
  if (checks.md5 && writer->Md5Hex() != HexEncode(*checks.md5)) {
    return S3Error{S3ErrorCode::kBadDigest,
                   "The Content-MD5 you specified did not match what we received."};
  }
  result->size = checks.total;
  for (auto& c : checks.checksums) {
    if (c.from_trailer) {
      for (const auto& [name, value] :
           checks.decoder ? checks.decoder->trailers() : sigv4::Headers{}) {
        if (name == c.spec->header) c.expected = value;
      }
      if (c.expected.empty()) {
        return S3Error{S3ErrorCode::kInvalidRequest,
                       "the trailer " + std::string(c.spec->header) + " was declared but not sent"};
      }
    }
    std::string actual = Base64Encode(c.hasher->Finish());
    if (actual != c.expected) {
      return S3Error{S3ErrorCode::kBadDigest,
                     "The " + std::string(c.spec->name) +
                         " you specified did not match the calculated checksum."};
    }
    result->checksums[std::string(c.spec->name)] = actual;
  }
  return std::nullopt;
}

}  // namespace

IngestOutcome IngestBody(const S3Call& call, diskstore::ObjectWriter* writer, uint64_t max_size) {
  const bool streaming = IsStreaming(call.auth.payload_mode);
  BodyChecks checks;
  if (auto e = DeclaredSize(call, streaming, max_size, &checks.declared)) return {e, {}};
  if (auto e = Promises(call, &checks.md5, &checks.checksums)) return {e, {}};
  if (call.auth.payload_mode == sigv4::PayloadMode::kSignedHash) {
    checks.sha256 = Hasher::Create(Hasher::Kind::kSha256);
  }
  if (streaming) checks.decoder.emplace(call.auth);
  if (auto e = StreamBody(call, writer, max_size, checks)) return {e, {}};
  IngestResult result;
  if (auto e = Verify(call, writer, checks, &result)) return {e, {}};
  return IngestOutcome{std::nullopt, std::move(result)};
}

}  // namespace sparkify::store
