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
  auto info = client_->HeadObject(bucket_, key);
  if (!info.ok()) {
    if (info.status().IsNotFound()) return std::optional<ObjectHead>();
    return info.status();
  }
  ObjectHead head;
  head.size = info->size;
  head.content_type = info->content_type;
  head.metadata = info->metadata;
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
  auto put = client_->PutObject(bucket_, key, body, options);
  return put.ok() ? Status::OK() : put.status();
}

}  // namespace sparkify::function
