// Internal to the store: object metadata to and from HTTP headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "diskstore/disk_store.h"
#include "http/http.h"
#include "store/internal/s3_errors.h"
#include "store/internal/s3_operation.h"

namespace sparkify::store {

// Content-Type (default binary/octet-stream), Cache-Control, Content-Disposition,
// Content-Encoding (without aws-chunked), Content-Language, Expires and x-amz-meta-*.
// nullopt when the user metadata exceeds S3's 2 KB.
std::optional<diskstore::ObjectMeta> MetaFromHeaders(const http::Request& req);

// Server-side encryption asked of one request. x-amz-server-side-encryption: AES256 (SSE-S3)
// on PutObject, CopyObject and CreateMultipartUpload sets *aes256. SSE-KMS (aws:kms, its key
// id, context and bucket key headers) and SSE-C (the customer-key headers, on any operation)
// are NotImplemented; the header on another operation, or another algorithm, is
// InvalidArgument, as in S3.
std::optional<S3Error> ReadEncryptionRequest(const http::Request& req, Op op, bool* aes256);

// Sets x-amz-server-side-encryption on a reply about an object (or part, or upload) that is
// encrypted at rest.
void SetEncryptionHeader(http::Response& reply, const diskstore::ObjectMeta& meta);

// Whether a write asks for a public ACL (x-amz-acl other than private and the bucket-owner
// ones, or any x-amz-grant-*), which Block Public Access (BlockPublicAcls) refuses.
bool RequestsPublicAcl(const http::Request& req);

// "CRC32" -> "x-amz-checksum-crc32".
std::string ChecksumHeaderName(std::string_view algorithm);

// Checks a small request body held whole (the XML of a configuration or of a batch delete)
// against the digests its request sent: Content-MD5 and any x-amz-checksum-{crc32, crc32c,
// sha1, sha256}. InvalidDigest or InvalidRequest for a value that is not one, BadDigest for a
// mismatch.
std::optional<S3Error> CheckBodyDigests(const http::Request& req, std::string_view body);

// S3 conditional writes (PutObject, CompleteMultipartUpload): If-None-Match: * (the key must
// not exist) and If-Match: <ETag> or * (it must exist, with that ETag). An If-None-Match other
// than * is NotImplemented, as in S3; an empty If-Match is InvalidArgument.
std::optional<S3Error> ReadWriteCondition(const http::Request& req, diskstore::WriteCondition* out);

// The S3 error for a write whose WriteCondition did not hold (412 PreconditionFailed, or 404
// NoSuchKey for If-Match on a missing key); nullopt for any other Status.
std::optional<S3Error> ConditionError(const Status& status);

}  // namespace sparkify::store
