// Internal: the Share/Download picture. Renders a job's current collage (render::RenderPng
// over the images read back from the bucket) and stores it once per seed under
// collages/<job id>-<seed>.png. Thread-safe.
#pragma once

#include <string>

#include "common/status.h"
#include "web/bucket.h"
#include "web/jobs.h"

namespace sparkify::web::internal {

// "collages/<job>-<seed>.png"
std::string SharedPngKey(const std::string& job_id, uint64_t seed);

// Makes sure the PNG of `collage` is in the bucket (renders it unless `job` says it is) and
// returns its key. Errors: the bucket's (reading images, storing) and the renderer's.
Result<std::string> EnsureSharedPng(Job& job, const Collage& collage, Bucket& bucket,
                                    uint64_t max_image_bytes);

}  // namespace sparkify::web::internal
