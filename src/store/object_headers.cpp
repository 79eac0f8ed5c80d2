#include "store/object_headers.h"

#include <cctype>

#include "store/body_ingest.h"

namespace sparkify::store {
namespace {

constexpr size_t kMaxUserMetadataBytes = 2048;

}  // namespace

std::optional<ObjectMeta> MetaFromHeaders(const http::Request& req) {
  ObjectMeta meta;
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

std::string ChecksumHeaderName(std::string_view algorithm) {
  std::string out = "x-amz-checksum-";
  for (char c : algorithm) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace sparkify::store
