// Internal: the API's JSON documents (src/web/API.md): jobs, covers and collages, the latter
// laid out by layout::Arrange with a fresh presigned GET URL for every image.
// Thread-safe (Bucket is).
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "layout/layout.h"
#include "web/internal/bucket.h"
#include "web/internal/jobs.h"

namespace sparkify::web::internal {

// The layout of a collage (its items, background = dominant colour, its seed).
layout::Layout LayOut(const Collage& collage);

// The collage JSON; errors when a URL cannot be signed.
Result<nlohmann::json> CollageJson(const Collage& collage, Bucket& bucket);
// The job JSON (collage null until done).
Result<nlohmann::json> JobJson(const JobSnapshot& job, Bucket& bucket);
nlohmann::json ErrorJson(const ApiError& error);

}  // namespace sparkify::web::internal
