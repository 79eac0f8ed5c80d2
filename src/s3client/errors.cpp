#include "s3client/internal/errors.h"

#include <charconv>

#include "s3client/internal/xml.h"
#include "s3client/s3client.h"

namespace sparkify::s3client {
namespace internal {
namespace {

// The code S3 would have sent, for responses without a body (HEAD).
std::string CodeForStatus(long status) {
  switch (status) {
    case 304:
      return "NotModified";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 412:
      return "PreconditionFailed";
    default:
      return "HTTP" + std::to_string(status);
  }
}

Status WithCode(long status, std::string_view code, const std::string& text) {
  if (status == 404) return Status::NotFound(text);
  if (status == 401 || status == 403) return Status::PermissionDenied(text);
  if (status == 400 || status == 411 || status == 416) return Status::InvalidArgument(text);
  if (status == 409) {
    if (code.rfind("BucketAlready", 0) == 0) return Status::AlreadyExists(text);
    return Status::FailedPrecondition(text);
  }
  if (status == 412 || status == 304) return Status::FailedPrecondition(text);
  if (status == 429 || status >= 500) return Status::Unavailable(text);
  return Status::Internal(text);
}

}  // namespace

Status ErrorFromResponse(long http_status, std::string_view body) {
  std::optional<ErrorDocument> doc = ParseErrorDocument(body);
  std::string code = doc ? doc->code : CodeForStatus(http_status);
  std::string text = "[HTTP " + std::to_string(http_status) + " " + code + "]";
  if (doc && !doc->message.empty()) text += " " + doc->message;
  return WithCode(http_status, code, text);
}

}  // namespace internal

std::optional<S3Error> S3ErrorOf(const Status& status) {
  std::string_view m = status.message();
  constexpr std::string_view kPrefix = "[HTTP ";
  if (status.ok() || m.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  m.remove_prefix(kPrefix.size());
  size_t space = m.find(' ');
  size_t close = m.find(']');
  if (space == std::string_view::npos || close == std::string_view::npos || close < space) {
    return std::nullopt;
  }
  S3Error e;
  auto [end, ec] = std::from_chars(m.data(), m.data() + space, e.http_status);
  if (ec != std::errc() || end != m.data() + space) return std::nullopt;
  e.code = std::string(m.substr(space + 1, close - space - 1));
  std::string_view rest = m.substr(close + 1);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  e.message = std::string(rest);
  return e;
}

}  // namespace sparkify::s3client
