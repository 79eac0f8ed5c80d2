#include "store/internal/s3_errors.h"

#include <array>
#include <cstdio>

namespace sparkify::store {
namespace {

constexpr std::array kTable = {
    S3ErrorInfo{"AccessDenied", 403, "Access Denied"},
    S3ErrorInfo{"AccessForbidden", 403,
                "CORSResponse: This CORS request is not allowed. This is usually because the "
                "evaluation of Origin, request method / Access-Control-Request-Method or "
                "Access-Control-Request-Headers are not whitelisted by the resource's CORS "
                "spec."},
    S3ErrorInfo{"AuthorizationHeaderMalformed", 400,
                "The authorization header you provided is invalid."},
    S3ErrorInfo{"AuthorizationQueryParametersError", 400,
                "The authorization query parameters are invalid."},
    S3ErrorInfo{"BadDigest", 400,
                "The Content-MD5 or checksum you specified did not match what we received."},
    S3ErrorInfo{"BadRequest", 400, "Insufficient information. Origin request header needed."},
    S3ErrorInfo{"BucketAlreadyOwnedByYou", 409,
                "Your previous request to create the named bucket succeeded and you already own "
                "it."},
    S3ErrorInfo{"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."},
    S3ErrorInfo{"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size."},
    S3ErrorInfo{"EntityTooSmall", 400,
                "Your proposed upload is smaller than the minimum allowed object size."},
    S3ErrorInfo{"ExpiredToken", 400, "The provided token has expired."},
    S3ErrorInfo{"IncompleteBody", 400,
                "You did not provide the number of bytes specified by the Content-Length HTTP "
                "header."},
    S3ErrorInfo{"InternalError", 500, "We encountered an internal error. Please try again."},
    S3ErrorInfo{"InvalidAccessKeyId", 403,
                "The AWS access key ID you provided does not exist in our records."},
    S3ErrorInfo{"InvalidArgument", 400, "Invalid Argument"},
    S3ErrorInfo{"InvalidBucketName", 400, "The specified bucket is not valid."},
    S3ErrorInfo{"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    S3ErrorInfo{"InvalidPart", 400,
                "One or more of the specified parts could not be found, or the specified entity "
                "tag did not match the part's entity tag."},
    S3ErrorInfo{"InvalidPartOrder", 400,
                "The list of parts was not in ascending order. Parts must be ordered by part "
                "number."},
    S3ErrorInfo{"InvalidPartNumber", 416, "The requested partnumber is not satisfiable"},
    S3ErrorInfo{"InvalidPolicyDocument", 400,
                "The content of the form does not meet the conditions specified in the policy "
                "document."},
    S3ErrorInfo{"InvalidRange", 416, "The requested range is not satisfiable"},
    S3ErrorInfo{"InvalidRequest", 400, "Invalid Request"},
    S3ErrorInfo{"InvalidToken", 400, "The provided token is malformed or otherwise invalid."},
    S3ErrorInfo{"InvalidURI", 400, "Couldn't parse the specified URI."},
    S3ErrorInfo{"KeyTooLongError", 400, "Your key is too long"},
    S3ErrorInfo{"MalformedPOSTRequest", 400,
                "The body of your POST request is not well-formed multipart/form-data."},
    S3ErrorInfo{"MalformedPolicy", 400, "Policies must be valid JSON."},
    S3ErrorInfo{"MalformedXML", 400,
                "The XML you provided was not well-formed or did not validate against our "
                "published schema."},
    S3ErrorInfo{"MaxPostPreDataLengthExceeded", 400,
                "Your POST request fields preceding the upload file were too large."},
    S3ErrorInfo{"MethodNotAllowed", 405,
                "The specified method is not allowed against this resource."},
    S3ErrorInfo{"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    S3ErrorInfo{"NoSuchBucket", 404, "The specified bucket does not exist"},
    S3ErrorInfo{"NoSuchBucketPolicy", 404, "The bucket policy does not exist"},
    S3ErrorInfo{"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"},
    S3ErrorInfo{"NoSuchKey", 404, "The specified key does not exist."},
    S3ErrorInfo{"NoSuchUpload", 404,
                "The specified multipart upload does not exist. The upload ID might be invalid, "
                "or the multipart upload might have been aborted or completed."},
    S3ErrorInfo{"NotImplemented", 501,
                "A header or query you provided implies functionality that is not implemented."},
    S3ErrorInfo{"NotModified", 304, "Not Modified"},
    S3ErrorInfo{"PreconditionFailed", 412,
                "At least one of the preconditions you specified did not hold."},
    S3ErrorInfo{"RequestTimeout", 400,
                "Your socket connection to the server was not read from or written to within the "
                "timeout period."},
    S3ErrorInfo{"RequestTimeTooSkewed", 403,
                "The difference between the request time and the server's time is too large."},
    S3ErrorInfo{"ServerSideEncryptionConfigurationNotFoundError", 404,
                "The server side encryption configuration was not found"},
    S3ErrorInfo{"ServiceUnavailable", 503, "Please reduce your request rate."},
    S3ErrorInfo{"SignatureDoesNotMatch", 403,
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method."},
    S3ErrorInfo{"SlowDown", 503, "Please reduce your request rate."},
    S3ErrorInfo{"XAmzContentSHA256Mismatch", 400,
                "The provided 'x-amz-content-sha256' header does not match what was computed."},
    // 507 Insufficient Storage: a 5xx (the client did nothing wrong) that SDKs do not retry
    // in a tight loop as they do 503. X-prefixed, as S3-compatible servers name their own.
    S3ErrorInfo{"XSparkifyStorageFull", 507,
                "The server is out of storage space. Delete objects or free disk space on the "
                "server, then retry."},
};
static_assert(kTable.size() == static_cast<size_t>(S3ErrorCode::kXSparkifyStorageFull) + 1,
              "every S3ErrorCode needs a row");

}  // namespace

const S3ErrorInfo& Info(S3ErrorCode code) { return kTable[static_cast<size_t>(code)]; }

S3Error FromStatus(const Status& status) {
  switch (status.code()) {
    case Status::Code::kNotFound: return {S3ErrorCode::kNoSuchKey, status.message()};
    case Status::Code::kPermissionDenied: return {S3ErrorCode::kAccessDenied, status.message()};
    case Status::Code::kInvalidArgument: return {S3ErrorCode::kInvalidArgument, status.message()};
    case Status::Code::kResourceExhausted: return {S3ErrorCode::kEntityTooLarge, status.message()};
    case Status::Code::kDeadlineExceeded: return {S3ErrorCode::kRequestTimeout, ""};
    case Status::Code::kIOError:
      // A lost connection mid-body: the client will not read this, but say what happened.
      return {S3ErrorCode::kIncompleteBody, status.message()};
    case Status::Code::kUnavailable: return {S3ErrorCode::kServiceUnavailable, ""};
    case Status::Code::kNoSpace:
      return {S3ErrorCode::kXSparkifyStorageFull, ""};
    default: return {S3ErrorCode::kInternalError, ""};  // never leak internals
  }
}

S3Error FromStoreStatus(const Status& status) {
  if (status.code() == Status::Code::kIOError) return {S3ErrorCode::kInternalError, ""};
  return FromStatus(status);
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          // XML 1.0 cannot carry these: write a character reference S3 also uses.
          char buf[8];
          std::snprintf(buf, sizeof buf, "&#x%X;", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

http::Response ErrorResponse(const S3Error& error, std::string_view resource,
                             std::string_view request_id) {
  const S3ErrorInfo& info = Info(error.code);
  http::Response res;
  res.status = info.http_status;
  res.Set("x-amz-request-id", std::string(request_id));
  if (info.http_status == 304) return res;
  res.Set("Content-Type", "application/xml");
  std::string_view message = error.message.empty() ? info.default_message : error.message;
  res.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(info.code) +
             "</Code><Message>" + XmlEscape(message) + "</Message><Resource>" +
             XmlEscape(resource) + "</Resource><RequestId>" + std::string(request_id) +
             "</RequestId></Error>";
  return res;
}

}  // namespace sparkify::store
