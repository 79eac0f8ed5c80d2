// Private: turning an S3 error response into a Status, and back (S3ErrorOf). Thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"

namespace sparkify::s3client::internal {

// The Status for a non-2xx response; `body` is its XML error document, if any.
Status ErrorFromResponse(long http_status, std::string_view body);

}  // namespace sparkify::s3client::internal
