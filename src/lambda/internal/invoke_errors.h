// The Lambda Invoke API's errors (internal to the emulator): one table maps each error to
// its HTTP status and JSON shape, one function renders it.
//
// Wire format (rest-json, as botocore's Lambda model describes it): header
// `x-amzn-ErrorType: <Name>`, `Content-Type: application/json`, body
// `{"Type":"User"|"Service","message":"..."}` ("Message" for the shapes that spell it so,
// e.g. ResourceNotFoundException), plus "Reason" for TooManyRequestsException.
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "http/http.h"

namespace sparkify::lambda::internal {

enum class InvokeError {
  kResourceNotFound,            // 404
  kRequestTooLarge,             // 413
  kTooManyRequests,             // 429
  kInvalidRequestContent,       // 400: payload is not JSON, bad header value
  kInvalidParameterValue,       // 400: bad invocation type, log type, client context
  kService,                     // 500 (also: the emulator is stopping)
  kAccessDenied,                // 403: the policy does not allow lambda:InvokeFunction
  kInvalidSignature,            // 403: signature mismatch, expired, wrong region
  kUnrecognizedClient,          // 403: unknown access key or bad session token
  kIncompleteSignature,         // 403: malformed Authorization or presigned query
  kMissingAuthenticationToken,  // 403: unsigned where unsigned is not allowed
  kUnknownOperation,            // 404: not an Invoke API path
};

struct InvokeErrorInfo {
  std::string_view name;  // x-amzn-ErrorType, "ResourceNotFoundException"
  int http_status;
  std::string_view message_field;  // "message" or "Message"
  std::string_view type;           // "User" or "Service"
};

const InvokeErrorInfo& InfoFor(InvokeError error);

// The complete response. `request_id` goes into X-Amzn-RequestId when not empty.
http::Response RenderInvokeError(InvokeError error, std::string_view message,
                                 std::string_view request_id = {});

// For http::ServerOptions::render_error: the server's own errors (malformed request,
// headers too large, too many connections) in the same format.
http::Response RenderServerError(int status, std::string_view code, std::string_view message);

}  // namespace sparkify::lambda::internal
