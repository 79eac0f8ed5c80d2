#include "store/internal/object_headers.h"

#include "common/crypto.h"
#include "common/strings.h"
#include "store/internal/body_ingest.h"

namespace sparkify::store {
namespace {

constexpr size_t kMaxUserMetadataBytes = 2048;

}  // namespace

std::optional<diskstore::ObjectMeta> MetaFromHeaders(const http::Request& req) {
  diskstore::ObjectMeta meta;
  meta.content_type = std::string(req.Header("content-type").value_or("binary/octet-stream"));
  meta.cache_control = std::string(req.Header("cache-control").value_or(""));
  meta.content_disposition = std::string(req.Header("content-disposition").value_or(""));
  meta.content_encoding = StoredContentEncoding(req.Header("content-encoding").value_or(""));
  meta.content_language = std::string(req.Header("content-language").value_or(""));
  meta.expires = std::string(req.Header("expires").value_or(""));
  size_t total = 0;
  for (const auto& [name, value] : req.headers) {
    if (name.rfind("x-amz-meta-", 0) == 0) {
      std::string key = name.substr(11);
      total += key.size() + value.size();
      meta.user_meta[key] = value;
    }
  }
  if (total > kMaxUserMetadataBytes) return std::nullopt;
  return meta;
}

std::optional<S3Error> ReadEncryptionRequest(const http::Request& req, Op op, bool* aes256) {
  *aes256 = false;
  constexpr std::string_view kSse = "x-amz-server-side-encryption";
  for (const auto& [name, value] : req.headers) {
    if (name.find("server-side-encryption-customer-") != std::string::npos) {
      return S3Error{S3ErrorCode::kNotImplemented,
                     "Server-side encryption with customer keys (SSE-C, " + name +
                         ") is not implemented by this store: use AES256 (SSE-S3)."};
    }
    if (!name.starts_with(kSse)) continue;
    if (name != kSse) {
      if (name == "x-amz-server-side-encryption-bucket-key-enabled" && value == "false") continue;
      return S3Error{S3ErrorCode::kNotImplemented,
                     "Server-side encryption with KMS keys (SSE-KMS, " + name +
                         ") is not implemented by this store: use AES256 (SSE-S3)."};
    }
    if (op != Op::kPutObject && op != Op::kCopyObject && op != Op::kCreateMultipartUpload) {
      return S3Error{S3ErrorCode::kInvalidArgument,
                     "x-amz-server-side-encryption header is not supported for this operation."};
    }
    if (value.starts_with("aws:kms")) {
      return S3Error{S3ErrorCode::kNotImplemented,
                     "Server-side encryption with KMS keys (" + value +
                         ") is not implemented by this store: use AES256 (SSE-S3)."};
    }
    if (value != "AES256") {
      return S3Error{S3ErrorCode::kInvalidArgument,
                     "The encryption method specified is not supported"};
    }
    *aes256 = true;
  }
  return std::nullopt;
}

void SetEncryptionHeader(http::Response& reply, const diskstore::ObjectMeta& meta) {
  if (!meta.server_side_encryption.empty()) {
    reply.Set("x-amz-server-side-encryption", meta.server_side_encryption);
  }
}

bool RequestsPublicAcl(const http::Request& req) {
  auto acl = req.Header("x-amz-acl");
  if (acl && *acl != "private" && *acl != "bucket-owner-full-control" &&
      *acl != "bucket-owner-read") {
    return true;
  }
  return req.Header("x-amz-grant-read") || req.Header("x-amz-grant-write") ||
         req.Header("x-amz-grant-full-control") || req.Header("x-amz-grant-read-acp") ||
         req.Header("x-amz-grant-write-acp");
}

std::optional<S3Error> CheckBodyDigests(const http::Request& req, std::string_view body) {
  if (auto md5 = req.Header("content-md5")) {
    auto raw = Base64Decode(*md5);
    if (!raw || raw->size() != 16) return S3Error{S3ErrorCode::kInvalidDigest, ""};
    if (*raw != Md5(body)) return S3Error{S3ErrorCode::kBadDigest, ""};
  }
  struct Algorithm {
    std::string_view header;
    Hasher::Kind kind;
    size_t bytes;
  };
  constexpr Algorithm kAlgorithms[] = {{"x-amz-checksum-crc32", Hasher::Kind::kCrc32, 4},
                                       {"x-amz-checksum-crc32c", Hasher::Kind::kCrc32c, 4},
                                       {"x-amz-checksum-sha1", Hasher::Kind::kSha1, 20},
                                       {"x-amz-checksum-sha256", Hasher::Kind::kSha256, 32}};
  for (const Algorithm& a : kAlgorithms) {
    auto value = req.Header(a.header);
    if (!value) continue;
    auto raw = Base64Decode(*value);
    if (!raw || raw->size() != a.bytes) {
      return S3Error{S3ErrorCode::kInvalidRequest,
                     "Value for " + std::string(a.header) + " header is invalid."};
    }
    auto hasher = Hasher::Create(a.kind);
    hasher->Update(body);
    if (hasher->Finish() != *raw) return S3Error{S3ErrorCode::kBadDigest, ""};
  }
  return std::nullopt;
}

std::string ChecksumHeaderName(std::string_view algorithm) {
  return "x-amz-checksum-" + AsciiLowerString(algorithm);
}

std::optional<S3Error> ReadWriteCondition(const http::Request& req,
                                          diskstore::WriteCondition* out) {
  if (auto none = req.Header("if-none-match")) {
    if (*none != "*") {
      return S3Error{S3ErrorCode::kNotImplemented,
                     "If-None-Match on a write takes only *: the key must not exist"};
    }
    out->if_none_match = true;
  }
  if (auto match = req.Header("if-match")) {
    if (match->empty()) {
      return S3Error{S3ErrorCode::kInvalidArgument, "If-Match is empty: give an ETag or *"};
    }
    out->if_match = std::string(*match);
  }
  return std::nullopt;
}

std::optional<S3Error> ConditionError(const Status& status) {
  const std::string& m = status.message();
  if (status.code() == Status::Code::kFailedPrecondition && m.starts_with("PreconditionFailed:")) {
    return S3Error{S3ErrorCode::kPreconditionFailed, ""};
  }
  if (status.IsNotFound() && m.starts_with("NoSuchKey:")) {
    return S3Error{S3ErrorCode::kNoSuchKey, ""};
  }
  return std::nullopt;
}

}  // namespace sparkify::store
