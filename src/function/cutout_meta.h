// What a cut-out object carries besides its PNG, as x-amz-meta-* metadata: the mask's scores
// and size that decide how it is shown, and what a collage needs of its cover (palette and
// fingerprint), so that a collage of covers already cut out reads no pixels.
//
//   foreground-share  "0.421875"  share of the image that is subject, 6 decimals, in [0, 1]
//   mask-quality      "0.912345"  vision::ScoreMask's score, 6 decimals, in [0, 1]
//   cutout-size       "640x480"   the PNG's size (cropped to its subject)
//   model             "isnet-general-medium-fp32@1024"
//   source-sha256     the cover's SHA-256 (lowercase hex)
//   palette           "be6c39:0.18 a35126:0.15 ..."  the cover's palette (collage::Palette):
//                     colour in hex, share with 2 decimals, largest share first
//   fingerprint       "0f1e2d3c4b5a6978-808080"  collage::Fingerprint: hash, mean colour
//   summary-version   "1"  how the palette and fingerprint were computed (kCoverSummaryVersion)
//
// Cut-outs stored by older versions lack the palette and fingerprint, or carry those of
// another summary-version (the collage then reads the cover), or even lack the scores (the
// cut-out is then made again).
// Pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "collage/fingerprint.h"
#include "collage/palette.h"
#include "function/object_store.h"

namespace sparkify::function {

// Bump when the palette or fingerprint of a cover changes (collage::ComputePalette, its
// options, the thumbnail, collage::FingerprintOf): stored ones of another version are ignored.
inline constexpr int kCoverSummaryVersion = 1;

struct CutoutMeta {
  double foreground_share = 0;
  double mask_quality = 0;
  int width = 0, height = 0;
  std::string model;
  std::string source_sha256;
  // The cover's, when known.
  std::optional<collage::Palette> palette;
  std::optional<collage::Fingerprint> fingerprint;
};

// The metadata to PUT with a cut-out. The shares are written with 6 decimals: read them back
// with StoredScore so an answer made now and a cached one agree to the last digit. A palette
// whose text would not fit S3's 2 KB of metadata (over ~80 colours) is left out.
ObjectMetadata ToMetadata(const CutoutMeta& meta);

// The metadata of a stored cut-out; nullopt when its scores or size are missing or invalid
// (stored before masks were scored: make it again). A malformed palette or fingerprint, or one
// of another summary-version, is left out (nullopt), never an error.
std::optional<CutoutMeta> ParseCutoutMeta(const ObjectHead& head);

// `score` as ToMetadata writes it and ParseCutoutMeta reads it back.
double StoredScore(double score);

// Whether a cover is shown cut out: its mask covers at least `threshold` of it and is a
// confident subject (vision::kSubjectThreshold), judged on the stored scores, so that a fresh
// cut-out, a cached one and `sparkify segment` decide alike.
bool ShownCutOut(double foreground_share, double mask_quality, double threshold);

// The palette's and fingerprint's text forms (above); nullopt for anything else, including a
// palette collage::ValidatePalette refuses.
std::string FormatPalette(const collage::Palette& palette);
std::optional<collage::Palette> ParsePalette(std::string_view text);
std::string FormatFingerprint(const collage::Fingerprint& fingerprint);
std::optional<collage::Fingerprint> ParseFingerprint(std::string_view text);

}  // namespace sparkify::function
