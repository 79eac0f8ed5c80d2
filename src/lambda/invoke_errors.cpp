#include "lambda/internal/invoke_errors.h"

#include <nlohmann/json.hpp>

namespace sparkify::lambda::internal {
namespace {

using json = nlohmann::json;

struct Row {
  InvokeError error;
  InvokeErrorInfo info;
};

constexpr Row kTable[] = {
    {InvokeError::kResourceNotFound, {"ResourceNotFoundException", 404, "Message", "User"}},
    {InvokeError::kRequestTooLarge, {"RequestTooLargeException", 413, "message", "User"}},
    {InvokeError::kTooManyRequests, {"TooManyRequestsException", 429, "message", "User"}},
    {InvokeError::kInvalidRequestContent,
     {"InvalidRequestContentException", 400, "message", "User"}},
    {InvokeError::kInvalidParameterValue,
     {"InvalidParameterValueException", 400, "message", "User"}},
    {InvokeError::kService, {"ServiceException", 500, "Message", "Service"}},
    {InvokeError::kAccessDenied, {"AccessDeniedException", 403, "Message", "User"}},
    {InvokeError::kInvalidSignature, {"InvalidSignatureException", 403, "message", "User"}},
    {InvokeError::kUnrecognizedClient, {"UnrecognizedClientException", 403, "message", "User"}},
    {InvokeError::kIncompleteSignature, {"IncompleteSignatureException", 403, "message", "User"}},
    {InvokeError::kMissingAuthenticationToken,
     {"MissingAuthenticationTokenException", 403, "message", "User"}},
    {InvokeError::kUnknownOperation, {"UnknownOperationException", 404, "message", "User"}},
};

http::Response Render(const InvokeErrorInfo& info, int status, std::string_view message,
                      std::string_view request_id, std::string_view reason) {
  json body = json::object();
  body["Type"] = std::string(info.type);
  body[std::string(info.message_field)] = std::string(message);
  if (!reason.empty()) body["Reason"] = std::string(reason);
  http::Response res;
  res.status = status;
  res.Set("Content-Type", "application/json");
  res.Set("x-amzn-ErrorType", std::string(info.name));
  if (!request_id.empty()) res.Set("X-Amzn-RequestId", std::string(request_id));
  res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

}  // namespace

const InvokeErrorInfo& InfoFor(InvokeError error) {
  for (const auto& row : kTable) {
    if (row.error == error) return row.info;
  }
  return kTable[5].info;  // ServiceException; unreachable while the table is complete
}

http::Response RenderInvokeError(InvokeError error, std::string_view message,
                                 std::string_view request_id) {
  const InvokeErrorInfo& info = InfoFor(error);
  std::string_view reason;
  if (error == InvokeError::kTooManyRequests) reason = "ConcurrentInvocationLimitExceeded";
  http::Response res = Render(info, info.http_status, message, request_id, reason);
  if (error == InvokeError::kTooManyRequests) res.Set("Retry-After", "1");
  return res;
}

http::Response RenderServerError(int status, std::string_view code, std::string_view message) {
  InvokeErrorInfo info{code, status, "message", status >= 500 ? "Service" : "User"};
  if (status == 503) info = InfoFor(InvokeError::kTooManyRequests);
  http::Response res = Render(info, status, message, {}, {});
  res.close = true;
  return res;
}

}  // namespace sparkify::lambda::internal
