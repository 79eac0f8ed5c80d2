// Internal: the Share/Download picture. Renders a job's current collage (render::RenderPng
// over the images read back from the bucket) and stores it once per seed under
// collages/<32 hex digits>.png, a name sealed from the job id and the seed, so a shared link
// (which names the PNG) does not give away the job id (a key to the job's API). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "web/internal/bucket.h"
#include "web/internal/jobs.h"

namespace sparkify::web::internal {

// "collages/" + hex(first 16 bytes of HMAC-SHA256(link_key, "name|" job_id "|" seed)) + ".png"
std::string SharedPngKey(std::string_view link_key, const std::string& job_id, uint64_t seed);

// Makes sure the PNG of `collage` is in the bucket (renders it unless `job` says it is) and
// returns its key. Errors: the bucket's (reading images, storing) and the renderer's.
// `link_key`: ShareLinkKey (share_link.h).
Result<std::string> EnsureSharedPng(Job& job, const Collage& collage, Bucket& bucket,
                                    std::string_view link_key, uint64_t max_image_bytes);

}  // namespace sparkify::web::internal
