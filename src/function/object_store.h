// ObjectStore: the function's bucket, as the pipeline sees it (HEAD, GET, PUT by key), and
// S3ObjectStore, its implementation over s3client::S3Client (AWS S3, MinIO, `sparkify store`).
// The pipeline takes the interface so tests can count calls or inject failures.
//
// Thread-safety: implementations must allow concurrent calls; S3ObjectStore does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "s3client/s3client.h"

namespace sparkify::function {

// User metadata: names without the "x-amz-meta-" prefix, lowercase.
using ObjectMetadata = std::vector<std::pair<std::string, std::string>>;

struct ObjectHead {
  uint64_t size = 0;
  std::string content_type;
  ObjectMetadata metadata;
  // Lowercase hex SHA-256 of the object's bytes when the store keeps one it verified at upload
  // (S3's x-amz-checksum-sha256 of a single PUT); empty otherwise.
  std::string sha256;

  // The value of metadata `name`, or nullopt.
  std::optional<std::string> Meta(std::string_view name) const;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The object's size, type, metadata and (when the store has it) SHA-256, or
  // nullopt when the key does not exist, or when reading it is denied for want of
  // s3:ListBucket (S3 then answers 403 AccessDenied instead of 404: the function's policy
  // grants GetObject only). Errors for anything that says the bucket is not usable: a wrong
  // or expired key, a bad signature, a missing bucket, an unreachable endpoint, a 5xx.
  virtual Result<std::optional<ObjectHead>> Head(const std::string& key) = 0;
  // The object's bytes. NotFound for a missing key, ResourceExhausted over max_bytes.
  virtual Result<std::string> Get(const std::string& key, uint64_t max_bytes) = 0;
  virtual Status Put(const std::string& key, std::string_view body,
                     const std::string& content_type, const ObjectMetadata& metadata) = 0;
  // "s3://bucket" style, for messages.
  virtual std::string Describe() const = 0;
};

class S3ObjectStore final : public ObjectStore {
 public:
  S3ObjectStore(std::shared_ptr<s3client::S3Client> client, std::string bucket);
  Result<std::optional<ObjectHead>> Head(const std::string& key) override;
  Result<std::string> Get(const std::string& key, uint64_t max_bytes) override;
  Status Put(const std::string& key, std::string_view body, const std::string& content_type,
             const ObjectMetadata& metadata) override;
  std::string Describe() const override { return "s3://" + bucket_; }

 private:
  std::shared_ptr<s3client::S3Client> client_;
  std::string bucket_;
};

}  // namespace sparkify::function
