#include "function/object_store.h"

namespace sparkify::function {

std::optional<std::string> ObjectHead::Meta(std::string_view name) const {
  for (const auto& [k, v] : metadata) {
    if (k == name) return v;
  }
  return std::nullopt;
}

S3ObjectStore::S3ObjectStore(std::shared_ptr<s3client::S3Client> client, std::string bucket)
    : client_(std::move(client)), bucket_(std::move(bucket)) {}

Result<std::optional<ObjectHead>> S3ObjectStore::Head(const std::string& key) {
  s3client::HeadOptions options;
  options.checksum_mode = true;
  auto info = client_->HeadObject(bucket_, key, options);
  if (!info.ok()) {
    // A HEAD's 403 or 404 has no body, so it cannot tell a missing key (404 NoSuchKey, or 403
    // AccessDenied without s3:ListBucket) from a missing bucket or a key S3 does not know.
    // A GET of the same key carries the error code.
    const std::optional<s3client::S3Error> error = s3client::S3ErrorOf(info.status());
    if (!error || (error->http_status != 403 && error->http_status != 404)) return info.status();
    s3client::GetOptions probe;
    probe.max_bytes = 1;  // an object that does exist is not downloaded
    auto got = client_->GetObject(bucket_, key, probe);
    const std::optional<s3client::S3Error> why = s3client::S3ErrorOf(got.status());
    if (why && (why->code == "NoSuchKey" || why->code == "AccessDenied")) {
      return std::optional<ObjectHead>();
    }
    if (got.ok() || got.status().code() == Status::Code::kResourceExhausted) {
      return info.status();  // readable by GET but not by HEAD: say what HEAD said
    }
    return got.status();
  }
  ObjectHead head;
  head.size = info->size;
  head.content_type = info->content_type;
  head.metadata = info->metadata;
  head.sha256 = info->FullObjectSha256Hex();
  return std::optional<ObjectHead>(std::move(head));
}

Result<std::string> S3ObjectStore::Get(const std::string& key, uint64_t max_bytes) {
  s3client::GetOptions options;
  options.max_bytes = max_bytes;
  auto got = client_->GetObject(bucket_, key, options);
  if (!got.ok()) return got.status();
  return std::move(got->body);
}

Status S3ObjectStore::Put(const std::string& key, std::string_view body,
                          const std::string& content_type, const ObjectMetadata& metadata) {
  s3client::PutOptions options;
  options.content_type = content_type;
  options.metadata = metadata;
  options.checksum_sha256 = true;
  auto put = client_->PutObject(bucket_, key, body, options);
  return put.ok() ? Status::OK() : put.status();
}

}  // namespace sparkify::function
