// S3Service: the S3 REST API over a DiskStore, with SigV4 auth, IAM-style policies and
// Block Public Access. Turns one HTTP request into one HTTP response; never throws.
// Thread-safe: Handle() is called concurrently by the HTTP server's connection threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "diskstore/disk_store.h"
#include "http/http.h"
#include "iam/identity.h"

namespace sparkify::store {

struct S3ServiceOptions {
  std::string region = "us-east-1";  // the only region the store answers for
  // Virtual-hosted style: a Host of "<bucket>.<domain>[:port]" addresses <bucket>.
  // Empty: path style only. Default suits local use: bucket.s3.localhost.
  std::string virtual_host_domain = "s3.localhost";
  uint64_t max_object_size = 5ull << 30;  // single PUT or part: 5 GiB
  uint64_t min_part_size = 5ull << 20;    // all parts but the last: 5 MiB
  size_t max_xml_body = 1 << 20;          // Delete, CompleteMultipartUpload, ...
  size_t max_policy_bytes = 20 * 1024;    // bucket policies, as AWS
  // Encrypt every object at rest (SSE-S3) in buckets without an encryption configuration of
  // their own, as S3 has done since 2023; GetBucketEncryption then answers AES256 for them.
  // Off: only writes that ask for it, and buckets configured with PutBucketEncryption.
  bool encrypt_by_default = false;
  const Clock* clock = &Clock::System();
};

// S3's rules for a new bucket's name: 3..63 of [a-z0-9.-], starting and ending with a letter or
// digit, no "..", not an IP address, none of the reserved prefixes and suffixes. CreateBucket
// refuses others (InvalidBucketName); `sparkify store --create-bucket` checks the same.
bool ValidBucketName(std::string_view name);

// Puts on `bucket`, as PutBucketCors would, one CORS rule letting pages from `origins`
// ("http://127.0.0.1:8080"; one '*' each at most) send POST Object forms to it and GET or
// HEAD its objects, ETag exposed, preflights cached 10 minutes. It replaces the bucket's CORS
// configuration (`sparkify store --cors-origin`). InvalidArgument: no origin, or one S3 would
// refuse.
Status AllowBrowserUploads(diskstore::DiskStore& store, const std::string& bucket,
                           const std::vector<std::string>& origins);

class S3Service {
 public:
  // REQUIRES: store and identities outlive the service.
  S3Service(diskstore::DiskStore* store, iam::IdentityStore* identities, S3ServiceOptions options);
  ~S3Service();
  S3Service(const S3Service&) = delete;
  S3Service& operator=(const S3Service&) = delete;

  http::Response Handle(http::Request& request);

  // Renders the HTTP server's own errors as S3 XML (for ServerOptions::render_error).
  static http::Response RenderServerError(int status, std::string_view code,
                                          std::string_view message);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparkify::store
