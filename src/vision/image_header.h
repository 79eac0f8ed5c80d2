// Image container headers read without decoding anything: the format, the pixel size and the
// EXIF orientation of JPEG, PNG and WebP files. DecodeImage uses this to refuse decompression
// bombs before a pixel buffer exists, and to refuse formats other than these three before
// OpenCV (which knows many more) sees the bytes.
//
// Pure functions over untrusted bytes: they never read out of bounds, never allocate in
// proportion to the declared size, and are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace sparkify::vision {

enum class ImageFormat { kJpeg, kPng, kWebp };

// "JPEG", "PNG", "WebP".
std::string_view FormatName(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kJpeg;
  uint32_t width = 0;   // as stored, before the orientation is applied; > 0
  uint32_t height = 0;  // as stored; > 0
  // EXIF Orientation (1..8; 1 = as stored) from JPEG APP1, PNG eXIf or WebP EXIF; 1 when none.
  int orientation = 1;
  // Samples per pixel and bits per sample as stored: PNG by its colour type (palette: 1) and
  // bit depth, JPEG by its frame's components and precision, WebP 4 x 8. What a decoder has
  // to produce before any conversion (DecodeLimits::max_sample_bytes bounds it).
  int channels = 3;
  int bits_per_sample = 8;
  // JPEG only: the bytes end before an end-of-image marker follows the scan data (or before
  // the first scan). libjpeg would decode such a file partially, padding it with grey.
  bool truncated = false;
  // JPEG only: the number of scans (SOS markers) found. Each scan of a progressive JPEG is a
  // pass over the whole image, so thousands of tiny scans make a decoding-time bomb.
  int jpeg_scans = 0;
};

// The format named by the magic numbers the bytes start with, read no further: JPEG FF D8 (the
// start-of-image marker), PNG's 8-byte signature, WebP "RIFF" then "WEBP" at offset 8. nullopt for
// anything else, or too few bytes. ParseImageHeader starts here; a fetch checks it as soon as 12
// bytes have arrived.
std::optional<ImageFormat> SniffImageFormat(std::string_view bytes);

// Reads the header of `bytes`.
// Errors (all InvalidArgument, with a message naming the problem): empty input, a format other
// than JPEG/PNG/WebP, a header cut short, a malformed header (bad PNG signature or IHDR CRC,
// JPEG marker structure, RIFF/VP8 framing), a zero width or height, an animated WebP.
// Success says nothing about the pixel data after the header, except for JPEG, whose marker
// structure is walked to the end (`truncated`, `jpeg_scans`) without decoding anything.
Result<ImageHeader> ParseImageHeader(std::string_view bytes);

// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block, which starts at the
// byte-order mark ("II" or "MM"); an optional leading "Exif\0\0" is skipped. Returns 1 when the
// block is malformed or the tag is absent or outside 1..8.
int ExifOrientation(std::string_view tiff);

}  // namespace sparkify::vision
