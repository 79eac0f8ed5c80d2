// Internal: the key a presigned URL or POST form is signed with, and how long it may live.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/status.h"
#include "s3client/s3client.h"

namespace sparkify::s3client::internal {

// The client's key now; shortens *expires_seconds to the key's remaining life (a URL signed
// with a temporary key dies with it). Unavailable when that key has already ended.
Result<sigv4::Credentials> PresignKey(const ClientOptions& options, TimePoint now,
                                      int64_t* expires_seconds);

}  // namespace sparkify::s3client::internal
