// Internal: reading the function's answers (function/response.cpp renders them): the segment
// answer's per-cover error, and the collage answer turned into the job's Collage (which
// covers are cut out, the colours, a palette). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "web/internal/jobs.h"

namespace sparkify::web::internal {

// The error of a one-key segment answer, or nullopt when its cover was processed.
std::optional<ApiError> SegmentError(const std::string& body);

// What a one-key segment answer made of its cover: the cut-out's key, and whether it is shown
// as a cut-out (its mask is a confident subject); an empty key when there is none.
struct SegmentPreview {
  std::string key;
  bool cutout = false;
};
SegmentPreview PreviewOf(const std::string& body);

// The covers a collage answer left out as duplicates: (its key, the key of the one kept).
std::vector<std::pair<std::string, std::string>> Duplicates(const std::string& body);

// "The same picture as cover N (name): shown once."
std::string DuplicateNote(const Cover& kept);

// The collage: cut-outs (kind kCutout, the cut-out's key) and uncropped covers (kind kCover,
// the upload's key), each with the size and rank of its cover in `covers` (matched by upload
// key), the dominant and complementary colours, and a palette of up to 6 colours merged from
// the chosen covers' colours by share. InvalidArgument when the answer is malformed.
Result<Collage> ParseCollageAnswer(const std::string& body, const std::vector<Cover>& covers,
                                   uint64_t seed);

}  // namespace sparkify::web::internal
