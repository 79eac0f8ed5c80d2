// PutObject, CopyObject, GetObject/HeadObject, DeleteObject.
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/clock.h"
#include "common/uri.h"
#include "store/internal/body_ingest.h"
#include "store/internal/object_headers.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

bool EtagMatches(std::string_view header, std::string_view etag) {
  // A comma-separated list of quoted (or bare) ETags, or "*".
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view t = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t.rfind("W/", 0) == 0) t.remove_prefix(2);
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
    if (t == "*" || t == etag) return true;
  }
  return false;
}

int64_t Seconds(TimePoint t) { return ToUnixSeconds(t); }

// RFC 7232 order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since.
// Returns 0 to go on, or 304/412.
int EvaluatePreconditions(const http::Request& req, const diskstore::ObjectMeta& meta,
                          const char* prefix) {
  std::string p(prefix);
  auto if_match = req.Header(p + "if-match");
  auto if_none_match = req.Header(p + "if-none-match");
  if (if_match && !EtagMatches(*if_match, meta.etag)) return 412;
  if (!if_match) {
    if (auto h = req.Header(p + "if-unmodified-since")) {
      auto t = ParseHttpDate(*h);
      if (t && Seconds(meta.last_modified) > Seconds(*t)) return 412;
    }
  }
  if (if_none_match && EtagMatches(*if_none_match, meta.etag)) return 304;
  if (!if_none_match) {
    if (auto h = req.Header(p + "if-modified-since")) {
      auto t = ParseHttpDate(*h);
      if (t && Seconds(meta.last_modified) <= Seconds(*t)) return 304;
    }
  }
  return 0;
}

struct ByteRange {
  uint64_t first, last;  // inclusive
};
// nullopt: serve the whole object (no header, or one S3 ignores). first > last: unsatisfiable.
std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size) {
  if (header.rfind("bytes=", 0) != 0) return std::nullopt;
  std::string_view spec = header.substr(6);
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // multi-range: ignored
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s) -> std::optional<uint64_t> {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {  // suffix: last N bytes
    auto n = num(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return ByteRange{1, 0};
    uint64_t len = std::min(*n, size);
    return ByteRange{size - len, size - 1};
  }
  auto first = num(a);
  if (!first) return std::nullopt;
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = num(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, last);
  }
  if (*first >= size) return ByteRange{1, 0};
  return ByteRange{*first, last};
}

// GET/HEAD ?partNumber=N: the byte range of part N of a multipart object (a single PUT is
// its own part 1), as S3 answers it (206 with Content-Range). Errors as S3's.
std::optional<S3Error> PartRange(const S3Call& call, const diskstore::ObjectMeta& meta,
                                 ByteRange* out) {
  std::string_view text = call.Query("partNumber");
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 10000) {
    return S3Error{S3ErrorCode::kInvalidArgument,
                   "Part number must be an integer between 1 and 10000, inclusive"};
  }
  if (call.http->Header("range")) {
    return S3Error{S3ErrorCode::kInvalidRequest,
                   "Cannot specify both Range header and partNumber query parameter"};
  }
  if (meta.parts_count == 0) {
    if (n != 1 || meta.size == 0) return S3Error{S3ErrorCode::kInvalidPartNumber, ""};
    *out = ByteRange{0, meta.size - 1};
    return std::nullopt;
  }
  if (meta.part_sizes.size() != static_cast<size_t>(meta.parts_count)) {
    return S3Error{S3ErrorCode::kInvalidPart,
                   "This object was completed by a store version that did not record its part "
                   "sizes; read it whole or by Range."};
  }
  if (n > meta.parts_count) return S3Error{S3ErrorCode::kInvalidPartNumber, ""};
  uint64_t first = 0;
  for (int i = 0; i + 1 < n; ++i) first += meta.part_sizes[i];
  const uint64_t size = meta.part_sizes[n - 1];
  if (size == 0) return S3Error{S3ErrorCode::kInvalidPartNumber, ""};
  *out = ByteRange{first, first + size - 1};
  return std::nullopt;
}

constexpr const char* kResponseOverrides[] = {
    "response-content-type",     "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-expires"};

// The `response-*` query overrides become response headers: checked here, where they enter.
// A value with a control character (CR/LF would let a key holder write their own headers
// and body into our answer) is refused; anonymous requests may not override, as in S3.
std::optional<S3Error> CheckResponseOverrides(const S3Call& call) {
  for (const char* name : kResponseOverrides) {
    if (!call.HasQuery(name)) continue;
    if (!call.principal) {
      return S3Error{S3ErrorCode::kInvalidRequest,
                     "Request specific response headers cannot be used for anonymous GET "
                     "requests."};
    }
    if (!http::IsValidFieldValue(call.Query(name))) {
      return S3Error{S3ErrorCode::kInvalidArgument,
                     std::string("The value of ") + name + " contains a control character."};
    }
  }
  return std::nullopt;
}

// Whole-object checksums are sent only with the whole object (a range has none, as in S3:
// clients would check the range against them and fail).
void AddObjectHeaders(http::Response& res, const diskstore::ObjectMeta& meta,
                      const http::Request& req, const S3Call& call, bool whole_object) {
  auto override_or = [&](const char* param, const std::string& value) {
    std::string_view o = call.Query(param);
    return o.empty() ? value : std::string(o);
  };
  res.Set("ETag", QuoteEtag(meta.etag));
  res.Set("Last-Modified", FormatHttpDate(meta.last_modified));
  res.Set("Accept-Ranges", "bytes");
  res.Set("Content-Type", override_or("response-content-type", meta.content_type));
  auto optional = [&](const char* name, const char* param, const std::string& value) {
    std::string v = override_or(param, value);
    if (!v.empty()) res.Set(name, v);
  };
  optional("Cache-Control", "response-cache-control", meta.cache_control);
  optional("Content-Disposition", "response-content-disposition", meta.content_disposition);
  optional("Content-Encoding", "response-content-encoding", meta.content_encoding);
  optional("Content-Language", "response-content-language", meta.content_language);
  optional("Expires", "response-expires", meta.expires);
  for (const auto& [k, v] : meta.user_meta) res.Set("x-amz-meta-" + k, v);
  if (meta.parts_count > 0) res.Set("x-amz-mp-parts-count", std::to_string(meta.parts_count));
  SetEncryptionHeader(res, meta);
  auto mode = req.Header("x-amz-checksum-mode");
  if (whole_object && mode && *mode == "ENABLED") {
    for (const auto& [alg, value] : meta.checksums) res.Set(ChecksumHeaderName(alg), value);
  }
}

}  // namespace

Reply S3Service::Impl::PutObject(S3Call& call) {
  if (RequestsPublicAcl(*call.http) && GetPublicAccessBlock(call.bucket).block_public_acls) {
    return Error(call, S3ErrorCode::kAccessDenied,
                 "Block Public Access forbids public ACLs on this bucket");
  }
  auto meta = MetaFromHeaders(*call.http);
  if (!meta) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "Your metadata headers exceed the maximum allowed metadata size (2 KB).");
  }
  diskstore::WriteCondition condition;
  if (auto bad = ReadWriteCondition(*call.http, &condition)) return Error(call, *bad);
  auto encrypt = EncryptsAtRest(call);
  if (!encrypt.ok()) return StoreError(call, encrypt.status());
  auto writer = store()->NewWriter(call.bucket, call.key, *encrypt);
  if (!writer.ok()) return StoreError(call, writer.status());
  auto ingest = IngestBody(call, writer->get(), options().max_object_size);
  if (ingest.error) return Error(call, *ingest.error);
  meta->checksums = ingest.result.checksums;
  auto stored = (*writer)->Commit(std::move(*meta), condition);
  if (!stored.ok()) {
    if (auto failed = ConditionError(stored.status())) return Error(call, *failed);
    return StoreError(call, stored.status());
  }
  Reply r = Ok(call);
  r.Set("ETag", QuoteEtag(stored->etag));
  for (const auto& [alg, value] : stored->checksums) r.Set(ChecksumHeaderName(alg), value);
  SetEncryptionHeader(r, *stored);
  return r;
}

Reply S3Service::Impl::GetObject(S3Call& call, bool head) {
  if (auto bad = CheckResponseOverrides(call)) return Error(call, *bad);
  auto reader = store()->Open(call.bucket, call.key);
  if (!reader.ok()) {
    if (reader.status().IsNotFound() && store()->GetBucket(call.bucket).ok()) {
      // Without s3:ListBucket a caller must not learn whether a key exists.
      if (Authorize(call, "s3:ListBucket", BucketArn(call.bucket),
                    {{"s3:prefix", call.key}})) {
        return Error(call, S3ErrorCode::kAccessDenied);
      }
    }
    return StoreError(call, reader.status());
  }
  std::shared_ptr<diskstore::ObjectReader> object(std::move(*reader));
  const diskstore::ObjectMeta& meta = object->meta();
  const http::Request& req = *call.http;
  int pre = EvaluatePreconditions(req, meta, "");
  if (pre != 0) {
    Reply r = Error(call, pre == 304 ? S3ErrorCode::kNotModified : S3ErrorCode::kPreconditionFailed);
    if (pre == 304) {
      r.Set("ETag", QuoteEtag(meta.etag));
      r.Set("Last-Modified", FormatHttpDate(meta.last_modified));
    }
    return r;
  }
  Reply r = Ok(call);
  uint64_t first = 0, length = meta.size;
  std::optional<ByteRange> range;
  if (call.HasQuery("partNumber")) {
    ByteRange part{};
    if (auto bad = PartRange(call, meta, &part)) return Error(call, *bad);
    range = part;
  } else if (auto range_header = req.Header("range")) {
    range = ParseRange(*range_header, meta.size);
  }
  AddObjectHeaders(r, meta, req, call, !range.has_value());
  {
    if (range) {
      if (range->first > range->last) {
        Reply bad = Error(call, S3ErrorCode::kInvalidRange);
        bad.Set("Content-Range", "bytes */" + std::to_string(meta.size));
        return bad;
      }
      first = range->first;
      length = range->last - range->first + 1;
      r.status = 206;
      r.Set("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                 std::to_string(range->last) + "/" + std::to_string(meta.size));
    }
  }
  if (head) {
    r.head_content_length = length;
  } else if (object->fd() >= 0) {
    r.file = http::FileRange{object->fd(), object->data_offset() + first, length, object};
  } else {
    // Encrypted at rest: decrypted as it is sent.
    r.file = http::FileRange{-1, 0, length, nullptr,
                             [object, first, bucket = call.bucket, key = call.key](
                                 uint64_t position, char* buf, size_t n) -> int64_t {
                               auto got = object->ReadAt(first + position, buf, n);
                               if (got.ok() && *got > 0) return static_cast<int64_t>(*got);
                               spdlog::error(
                                   "GET {}/{}: {}", bucket, key,
                                   got.ok() ? "the object ended early" : got.status().ToString());
                               return -1;
                             }};
  }
  return r;
}

Reply S3Service::Impl::DeleteObject(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  Status s = store()->Delete(call.bucket, call.key);
  if (!s.ok()) return StoreError(call, s);
  return Ok(call, 204);
}

Reply S3Service::Impl::CopyObject(S3Call& call) {
  const http::Request& req = *call.http;
  std::string_view source = *req.Header("x-amz-copy-source");
  size_t q = source.find('?');
  if (q != std::string_view::npos) {
    std::string_view params = source.substr(q + 1);
    source = source.substr(0, q);
    if (params != "versionId=null" && !params.empty()) {
      return Error(call, S3ErrorCode::kNotImplemented, "versioned copy sources are not supported");
    }
  }
  auto decoded = UriDecode(source);
  if (!decoded) return Error(call, S3ErrorCode::kInvalidArgument, "malformed x-amz-copy-source");
  std::string_view src = *decoded;
  if (!src.empty() && src.front() == '/') src.remove_prefix(1);
  size_t slash = src.find('/');
  if (slash == std::string_view::npos || slash + 1 == src.size()) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "x-amz-copy-source must be bucket/key, URL-encoded");
  }
  std::string src_bucket(src.substr(0, slash)), src_key(src.substr(slash + 1));
  S3Call src_call = call;
  src_call.bucket = src_bucket;
  src_call.key = src_key;
  src_call.resource = "/" + src_bucket + "/" + src_key;
  if (auto err = Authorize(src_call, "s3:GetObject", ObjectArn(src_bucket, src_key))) {
    return Error(call, *err);
  }
  auto reader = store()->Open(src_bucket, src_key);
  if (!reader.ok()) return StoreError(src_call, reader.status());
  const diskstore::ObjectMeta& src_meta = (*reader)->meta();
  int pre = EvaluatePreconditions(req, src_meta, "x-amz-copy-source-");
  if (pre != 0) return Error(call, S3ErrorCode::kPreconditionFailed);

  bool replace = req.Header("x-amz-metadata-directive").value_or("COPY") == "REPLACE";
  if (!replace && !call.sse_requested && src_bucket == call.bucket && src_key == call.key) {
    return Error(call, S3ErrorCode::kInvalidRequest,
                 "This copy request is illegal because it is trying to copy an object to itself "
                 "without changing the object's metadata, storage class, website redirect "
                 "location or encryption attributes.");
  }
  diskstore::ObjectMeta meta;
  if (replace) {
    auto from_headers = MetaFromHeaders(req);
    if (!from_headers) return Error(call, S3ErrorCode::kInvalidArgument, "metadata too large");
    meta = std::move(*from_headers);
  } else {
    meta = src_meta;
    meta.etag.clear();
    meta.last_modified = {};
    meta.parts_count = 0;
  }
  auto encrypt = EncryptsAtRest(call);
  if (!encrypt.ok()) return StoreError(call, encrypt.status());
  auto writer = store()->NewWriter(call.bucket, call.key, *encrypt);
  if (!writer.ok()) return StoreError(call, writer.status());
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < src_meta.size;) {
    auto n = (*reader)->ReadAt(off, buf.data(), buf.size());
    if (!n.ok()) return StoreError(call, n.status());
    if (*n == 0) return Error(call, S3ErrorCode::kInternalError);
    Status s = (*writer)->Append(std::string_view(buf.data(), *n));
    if (!s.ok()) return StoreError(call, s);
    off += *n;
  }
  auto stored = (*writer)->Commit(std::move(meta));
  if (!stored.ok()) return StoreError(call, stored.status());
  Reply r = Xml(call, std::string(kXmlHeader) + "<CopyObjectResult xmlns=\"" +
                          std::string(kS3Namespace) + "\"><LastModified>" +
                          FormatIso8601(stored->last_modified) + "</LastModified><ETag>" +
                          XmlEscape(QuoteEtag(stored->etag)) + "</ETag></CopyObjectResult>");
  SetEncryptionHeader(r, *stored);
  return r;
}

}  // namespace sparkify::store
