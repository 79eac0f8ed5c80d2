// AwsChunkedDecoder: an incremental parser for aws-chunked bodies with signature chaining.
#include <algorithm>
#include <exception>

#include "common/crypto.h"
#include "sigv4/internal.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4 {
namespace {

constexpr size_t kMaxLine = 4096;           // chunk header or trailer line
constexpr size_t kMaxTrailerBytes = 16384;  // all trailer lines together
constexpr size_t kMaxTrailers = 32;
constexpr std::string_view kSignaturePrefix = "chunk-signature=";
constexpr std::string_view kTrailerSignatureName = "x-amz-trailer-signature";

enum class Phase { kHeader, kData, kDataEnd, kFinalEnd, kTrailer, kDone, kFailed };

std::optional<uint64_t> ParseHexSize(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

struct AwsChunkedDecoder::State {
  Phase phase = Phase::kHeader;
  Status error;
  bool signed_chunks = false;
  bool trailer_mode = false;
  bool signed_trailer = false;
  size_t max_chunk = 0;
  std::string signing_key, amz_date, scope, previous_signature;
  std::optional<uint64_t> declared_length;
  std::vector<std::string> declared_trailers;

  std::string line;        // the partial line being read
  uint64_t remaining = 0;  // data bytes left in the current chunk
  std::string chunk;       // signed modes: the chunk's data, held until its signature checks
  std::string chunk_signature;
  uint64_t decoded = 0;

  Headers trailers;
  std::string canonical_trailers;
  size_t trailer_bytes = 0;
  std::optional<std::string> trailer_signature;
  bool skipped_blank = false;

  Status Failure(Status s) {
    phase = Phase::kFailed;
    error = s;
    return s;
  }

  // Accumulates a CRLF-terminated line; true once complete (the CRLF is stripped).
  bool ReadLine(std::string_view* input, Status* st) {
    size_t lf = input->find('\n');
    size_t take = lf == std::string_view::npos ? input->size() : lf + 1;
    if (line.size() + take > kMaxLine) {
      *st = Failure(Status::InvalidArgument("aws-chunked: line too long"));
      return false;
    }
    line.append(input->substr(0, take));
    input->remove_prefix(take);
    if (lf == std::string_view::npos) return false;
    if (line.size() < 2 || line[line.size() - 2] != '\r') {
      *st = Failure(Status::InvalidArgument("aws-chunked: lines must end with CRLF"));
      return false;
    }
    line.resize(line.size() - 2);
    return true;
  }

  Status CheckChunkSignature(std::string_view data) {
    if (!signed_chunks) return Status::OK();
    std::string expected = ChunkSignature(signing_key, amz_date, scope, previous_signature, data);
    if (!ConstantTimeEquals(expected, chunk_signature)) {
      return Failure(Status::PermissionDenied("aws-chunked: chunk signature does not match"));
    }
    previous_signature = std::move(expected);
    return Status::OK();
  }

  Status OnHeader() {
    std::string_view text = line;
    size_t semi = text.find(';');
    std::optional<uint64_t> size = ParseHexSize(text.substr(0, semi));
    if (!size) return Failure(Status::InvalidArgument("aws-chunked: bad chunk size"));
    if (*size > max_chunk) {
      return Failure(Status::InvalidArgument("aws-chunked: chunk larger than allowed"));
    }
    if (signed_chunks) {
      std::string_view ext = semi == std::string_view::npos ? "" : text.substr(semi + 1);
      if (ext.substr(0, kSignaturePrefix.size()) != kSignaturePrefix ||
          !internal::IsLowerHex(ext.substr(kSignaturePrefix.size()), 64)) {
        return Failure(Status::InvalidArgument("aws-chunked: missing or bad chunk-signature"));
      }
      chunk_signature = std::string(ext.substr(kSignaturePrefix.size()));
    } else if (semi != std::string_view::npos) {
      return Failure(Status::InvalidArgument("aws-chunked: unexpected chunk extension"));
    }
    if (declared_length && decoded + *size > *declared_length) {
      return Failure(
          Status::InvalidArgument("aws-chunked: body longer than x-amz-decoded-content-length"));
    }
    line.clear();
    if (*size > 0) {
      remaining = *size;
      phase = Phase::kData;
      return Status::OK();
    }
    SPARKIFY_RETURN_IF_ERROR(CheckChunkSignature({}));
    phase = trailer_mode ? Phase::kTrailer : Phase::kFinalEnd;
    return Status::OK();
  }

  Status OnTrailerLine() {
    std::string_view text = line;
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      return Failure(Status::InvalidArgument("aws-chunked: trailer must be name:value"));
    }
    std::string name = AsciiLowerString(TrimSpaceAndTab(text.substr(0, colon)));
    std::string value(TrimSpaceAndTab(text.substr(colon + 1)));
    trailer_bytes += line.size();
    if (name.empty() || trailers.size() >= kMaxTrailers || trailer_bytes > kMaxTrailerBytes) {
      return Failure(Status::InvalidArgument("aws-chunked: bad or too many trailers"));
    }
    if (trailer_signature) {
      return Failure(Status::InvalidArgument("aws-chunked: trailer after the trailer signature"));
    }
    if (name == kTrailerSignatureName) {
      if (!signed_trailer || !internal::IsLowerHex(value, 64)) {
        return Failure(Status::InvalidArgument("aws-chunked: unexpected trailer signature"));
      }
      trailer_signature = std::move(value);
    } else {
      bool declared = declared_trailers.empty();
      for (const std::string& d : declared_trailers) declared = declared || d == name;
      if (!declared) {
        return Failure(
            Status::InvalidArgument("aws-chunked: trailer not declared in x-amz-trailer"));
      }
      canonical_trailers += name + ":" + value + "\n";
      trailers.emplace_back(std::move(name), std::move(value));
    }
    line.clear();
    return Status::OK();
  }

  Status Finish() {
    for (const std::string& d : declared_trailers) {
      bool present = false;
      for (const auto& t : trailers) present = present || t.first == d;
      if (!present)
        return Failure(Status::InvalidArgument("aws-chunked: a declared trailer is missing"));
    }
    if (signed_trailer) {
      if (!trailer_signature) {
        return Failure(Status::PermissionDenied("aws-chunked: missing x-amz-trailer-signature"));
      }
      std::string expected =
          TrailerSignature(signing_key, amz_date, scope, previous_signature, canonical_trailers);
      if (!ConstantTimeEquals(expected, *trailer_signature)) {
        return Failure(Status::PermissionDenied("aws-chunked: trailer signature does not match"));
      }
    }
    if (declared_length && decoded != *declared_length) {
      return Failure(
          Status::InvalidArgument("aws-chunked: body shorter than x-amz-decoded-content-length"));
    }
    phase = Phase::kDone;
    return Status::OK();
  }

  Status Step(std::string_view* input, std::string* out) {
    Status st;
    switch (phase) {
      case Phase::kHeader:
        if (ReadLine(input, &st)) return OnHeader();
        return st;
      case Phase::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, input->size()));
        if (signed_chunks) {
          chunk.append(input->substr(0, n));
        } else {
          out->append(input->substr(0, n));
          decoded += n;
        }
        input->remove_prefix(n);
        remaining -= n;
        if (remaining == 0) phase = Phase::kDataEnd;
        return Status::OK();
      }
      case Phase::kDataEnd:
        if (!ReadLine(input, &st)) return st;
        if (!line.empty()) {
          return Failure(Status::InvalidArgument("aws-chunked: chunk data longer than its size"));
        }
        SPARKIFY_RETURN_IF_ERROR(CheckChunkSignature(chunk));
        if (signed_chunks) {
          out->append(chunk);
          decoded += chunk.size();
        }
        chunk.clear();
        phase = Phase::kHeader;
        return Status::OK();
      case Phase::kFinalEnd:
        if (!ReadLine(input, &st)) return st;
        if (!line.empty()) {
          return Failure(Status::InvalidArgument("aws-chunked: unexpected data after final chunk"));
        }
        return Finish();
      case Phase::kTrailer:
        if (!ReadLine(input, &st)) return st;
        if (!line.empty()) return OnTrailerLine();
        if (trailers.empty() && !trailer_signature && !declared_trailers.empty() &&
            !skipped_blank) {
          skipped_blank = true;  // some clients put a blank line before the trailers
          return Status::OK();
        }
        return Finish();
      case Phase::kDone:
        return Failure(Status::InvalidArgument("aws-chunked: data after the end of the body"));
      case Phase::kFailed:
        return error;
    }
    return Status::Internal("aws-chunked: bad state");
  }
};

AwsChunkedDecoder::AwsChunkedDecoder(const Verified& verified, size_t max_chunk_size)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.max_chunk = max_chunk_size;
  s.signed_chunks = verified.payload_mode == PayloadMode::kStreamingSigned ||
                    verified.payload_mode == PayloadMode::kStreamingSignedTrailer;
  s.signed_trailer = verified.payload_mode == PayloadMode::kStreamingSignedTrailer;
  s.trailer_mode =
      s.signed_trailer || verified.payload_mode == PayloadMode::kStreamingUnsignedTrailer;
  s.signing_key = verified.signing_key;
  s.amz_date = verified.amz_date;
  s.scope = verified.scope;
  s.previous_signature = verified.seed_signature;
  s.declared_length = verified.decoded_content_length;
  // x-amz-trailer only means something in the trailer modes.
  if (s.trailer_mode) s.declared_trailers = verified.trailer_names;
  if (!s.signed_chunks && !s.trailer_mode) {
    static_cast<void>(s.Failure(
        Status::FailedPrecondition("aws-chunked: the request is not in a streaming mode")));
  } else if (s.signed_chunks && (s.signing_key.empty() || s.previous_signature.empty())) {
    static_cast<void>(
        s.Failure(Status::FailedPrecondition("aws-chunked: no seed signature to chain from")));
  }
}

Status AwsChunkedDecoder::Feed(std::string_view input, std::string* out) {
  State& s = *state_;
  try {
    if (s.phase == Phase::kFailed) return s.error;
    while (!input.empty() && s.phase != Phase::kFailed) {
      SPARKIFY_RETURN_IF_ERROR(s.Step(&input, out));
    }
    if (s.phase == Phase::kFailed) return s.error;
    return Status::OK();
  } catch (const std::exception&) {
    return s.Failure(Status::Internal("aws-chunked: decoding failed"));
  }
}

bool AwsChunkedDecoder::done() const { return state_->phase == Phase::kDone; }
uint64_t AwsChunkedDecoder::decoded_bytes() const { return state_->decoded; }
const Headers& AwsChunkedDecoder::trailers() const { return state_->trailers; }

}  // namespace sparkify::sigv4
