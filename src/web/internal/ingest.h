// Internal: where covers come from before the function sees them. Every cover is checked by
// its image header (JPEG, PNG or WebP; the name and the sender's Content-Type are never
// trusted) and stored content-addressed as uploads/<sha256 of the bytes>.<ext>, or, sent by
// the browser straight to the bucket, checked there (InspectStoredCover).
// Pure functions except StoreCover and InspectStoredCover (the bucket) and ListSamples (the
// samples dir); thread-safe.
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

// "10 MiB", "512 KiB", "1000 bytes": a limit in words.
std::string SizeText(uint64_t bytes);

// The check of a cover the browser sent straight to the bucket (uploads/direct/...): its size,
// type and header by a ranged GET of its first 64 KiB (again with 1 MiB, then the whole file,
// when the header reaches further); the image data after the header is left to the function,
// which decodes it (a file cut short fails there). `check.status` not OK with `check.error`
// set: a refused cover (missing: not_uploaded; empty, too large, not an image, damaged, or
// not of the type its name says). A Status error: the store did not answer.
Result<ImageCheck> InspectStoredCover(Bucket& bucket, const std::string& key,
                                      uint64_t max_file_bytes);

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
