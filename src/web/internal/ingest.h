// Internal: where covers come from before the function sees them. Every cover is checked by
// its image header (JPEG, PNG or WebP; the name and the sender's Content-Type are never
// trusted) and stored content-addressed as uploads/<sha256 of the bytes>.<ext>.
// Pure functions except StoreCover (the bucket) and ListSamples (the samples dir);
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "web/internal/bucket.h"
#include "web/internal/jobs.h"

namespace sparkify::web::internal {

struct ImageInfo {
  std::string ext;            // "jpg", "png", "webp"
  std::string content_type;   // "image/jpeg", ...
  int width = 0, height = 0;  // as displayed (EXIF orientation applied)
};

// The error for a refused image: code "unsupported_type" (not JPEG/PNG/WebP, HTTP 415) or
// "bad_image" (a broken or truncated header, HTTP 400).
struct ImageCheck {
  Status status;
  ApiError error;  // set when !status.ok()
  ImageInfo info;
};
ImageCheck CheckImage(std::string_view bytes);

// uploads/<sha256>.<ext>
std::string UploadKey(std::string_view bytes, const ImageInfo& info);

// Puts the bytes under UploadKey; returns the key.
Result<std::string> StoreCover(Bucket& bucket, std::string_view bytes, const ImageInfo& info);

struct SampleFile {
  std::string name;  // "astronaut"
  std::string path;
};
// The sample set: image files of `dir` in index.tsv order (else by name) whose header is
// sound (a truncated JPEG, kept there as bad input for tests, is left out); at most `max`.
std::vector<SampleFile> ListSamples(const std::string& dir, int max);

}  // namespace sparkify::web::internal
