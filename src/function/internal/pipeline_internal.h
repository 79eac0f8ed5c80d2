// Internal to sparkify_function: the pipeline's per-cover working state, shared by
// pipeline.cpp (orchestration), pipeline_load.cpp (inputs, palettes) and
// pipeline_cutout.cpp (cut-outs).
#pragma once

#include <optional>
#include <string>

#include "collage/fingerprint.h"
#include "function/pipeline.h"

namespace sparkify::function {

struct Pipeline::Loaded {
  InputRef input;
  std::string bytes;        // the input's bytes (freed once no longer needed)
  bool unread = false;      // a key input known by its stored checksum: bytes read only if needed
  std::string sha256;       // lowercase hex of the bytes
  bool summarised = false;  // palette and fingerprint are known
  collage::Palette palette;
  collage::Fingerprint fingerprint;  // collage: to find the same picture twice
  // collage: the cut-out's HEAD when loading already made it (what it found, maybe nothing).
  bool cutout_looked_up = false;
  std::optional<ObjectHead> cutout;
  std::optional<InputError> error;  // set when the input cannot be used
};

struct Pipeline::CutoutPlan {
  Loaded* source = nullptr;
  CoverResult cover;                // input, palette, score, position filled in by the caller
  bool wanted = false;              // make (or find) a cut-out
  std::optional<InputError> error;  // set when the cut-out failed
};

// Milliseconds since `start` on the steady clock.
inline double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace sparkify::function
