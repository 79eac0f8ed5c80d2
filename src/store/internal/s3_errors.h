// S3 error codes and their XML rendering: one table maps every code we answer with to its
// HTTP status and default message, one function turns an internal Status into a code.
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "http/http.h"

namespace sparkify::store {

enum class S3ErrorCode {
  kAccessDenied,
  kAccessForbidden,  // a CORS request the bucket does not allow
  kAuthorizationHeaderMalformed,
  kAuthorizationQueryParametersError,
  kBadDigest,
  kBadRequest,
  kBucketAlreadyOwnedByYou,
  kBucketNotEmpty,
  kEntityTooLarge,
  kEntityTooSmall,
  kExpiredToken,
  kIncompleteBody,
  kInternalError,
  kInvalidAccessKeyId,
  kInvalidArgument,
  kInvalidBucketName,
  kInvalidDigest,
  kInvalidPart,
  kInvalidPartOrder,
  kInvalidPartNumber,
  kInvalidPolicyDocument,
  kInvalidRange,
  kInvalidRequest,
  kInvalidToken,
  kInvalidURI,
  kKeyTooLongError,
  kMalformedPOSTRequest,
  kMalformedPolicy,
  kMalformedXML,
  kMaxPostPreDataLengthExceeded,
  kMethodNotAllowed,
  kMissingContentLength,
  kNoSuchBucket,
  kNoSuchBucketPolicy,
  kNoSuchCORSConfiguration,
  kNoSuchKey,
  kNoSuchUpload,
  kNotImplemented,
  kNotModified,
  kPreconditionFailed,
  kRequestTimeout,
  kRequestTimeTooSkewed,
  kServerSideEncryptionConfigurationNotFoundError,
  kServiceUnavailable,
  kSignatureDoesNotMatch,
  kSlowDown,
  kXAmzContentSHA256Mismatch,
  kXSparkifyStorageFull,  // ours (S3 has none): the disk or its reserve is full; HTTP 507
};

struct S3Error {
  S3ErrorCode code;
  std::string message;  // empty: the table's default message
};

struct S3ErrorInfo {
  std::string_view code;
  int http_status;
  std::string_view default_message;
};
const S3ErrorInfo& Info(S3ErrorCode code);

// Maps an internal Status (from body readers, parsers, ...) to an S3 error.
S3Error FromStatus(const Status& status);
// Maps a disk store's Status to an S3 error that never carries a server path: an I/O error is
// InternalError without its message, a full disk XSparkifyStorageFull (log the Status first).
S3Error FromStoreStatus(const Status& status);

// <Error><Code/><Message/><Resource/><RequestId/></Error>, application/xml, with
// x-amz-request-id. HEAD responses carry no body (the caller's server drops it).
http::Response ErrorResponse(const S3Error& error, std::string_view resource,
                             std::string_view request_id);

std::string XmlEscape(std::string_view text);

}  // namespace sparkify::store
