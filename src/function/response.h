// The function's answers, in the original app's shape:
//
//   {"statusCode": 200, "body": {
//      "cropped_image_data":   [entry...],   cut-outs in use (share >= threshold)
//      "uncropped_image_data": [entry...],   the other covers
//      "dominant_color": [r,g,b], "complementary_color": [r,g,b],   (collage only)
//      "errors": [{"url"|"key": input, "stage": "...", "reason": "..."}],
//      "op": "collage"|"segment", "model": "...", "stats": {...}}}
//
// An entry: "key" (a cut-out: its key in the bucket) or, for an uncropped cover, its input:
// "url" (fetched) or "key" (in the bucket); "source" (the input, always); "rank";
// "position" (place in the shuffled collage); "colors" ([{"rgb":[r,g,b],"share":s}], the
// palette); "score"; "foreground_share" (when known); "cached" (cut-out found in the bucket).
// For API Gateway events "body" is that object as a JSON string, with "headers" and
// "isBase64Encoded": false, as API Gateway expects; for the other forms it is an object.
// Refusals: {"statusCode": 4xx, "body": {"error": TYPE, "message": TEXT[, "errors": [...]]}}.
//
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "function/event.h"
#include "function/result.h"

namespace sparkify::function {

// A 200 answer for `result`.
std::string RenderResult(EventForm form, const PipelineResult& result);

// A refusal: statusCode `status_code`, body {"error": error_type, "message": message} plus the
// per-input errors when there are any.
std::string RenderRefusal(EventForm form, int status_code, std::string_view error_type,
                          std::string_view message, std::span<const InputError> errors = {});

}  // namespace sparkify::function
