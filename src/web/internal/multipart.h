// Internal: multipart/form-data bodies (RFC 7578), as browsers send file uploads.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::web::internal {

struct FormPart {
  std::string name;          // the form field's name
  std::string filename;      // empty when the part is not a file
  std::string content_type;  // as sent (never trusted for the image type)
  std::string_view data;     // points into the parsed body
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type (quotes removed);
// InvalidArgument when the type is not multipart/form-data or has no usable boundary.
Result<std::string> MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts. `body` must outlive the result. InvalidArgument on a
// malformed body (no closing delimiter, a part without Content-Disposition, ...);
// ResourceExhausted when it has more than `max_parts` parts.
Result<std::vector<FormPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                             size_t max_parts = 100);

}  // namespace sparkify::web::internal
