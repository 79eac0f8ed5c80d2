// Test-only helpers of sparkify_vision's tests: where the model and samples are (through the
// SPARKIFY_CACHE environment variable that ctest sets; missing data fails the test, it is
// not skipped: scripts/setup.sh provides it), and hand-built image files (PNG chunks with real
// CRCs, JPEG EXIF segments, JPEG frame headers, WebP RIFF chunks).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace sparkify::vision::testing {

// The environment variable `name`, else the value CMake configured (ctest is meant to set the
// variables, but sparkify_test's ENVIRONMENT list currently loses all but the first entry).
inline std::string EnvDir(const char* name, const char* configured) {
  const char* v = std::getenv(name);
  if (v != nullptr && *v != '\0') return v;
  if (*configured != '\0') return configured;
  ADD_FAILURE() << name << " is not set (ctest sets it; run scripts/setup.sh first)";
  return "/nonexistent";
}

inline std::string CacheDir() { return EnvDir("SPARKIFY_CACHE", SPARKIFY_TEST_CACHE_DIR); }
inline std::string TestdataDir() {
  return EnvDir("SPARKIFY_SOURCE_DIR", SPARKIFY_TEST_SOURCE_DIR) + "/src/vision/testdata";
}
inline std::string SamplePath(const std::string& file) { return CacheDir() + "/samples/" + file; }
inline std::string ModelManifestPath() {
  return CacheDir() + "/models/isnet-general-medium/manifest.json";
}

// The whole file; fails the test (and returns "") when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path << " (run scripts/setup.sh to fetch it)";
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A string literal with embedded NULs, all of it.
template <size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

inline std::string Be16(uint32_t v) { return {char(v >> 8), char(v)}; }
inline std::string Be32(uint32_t v) { return Be16(v >> 16) + Be16(v & 0xFFFF); }
inline std::string Le16(uint32_t v) { return {char(v), char(v >> 8)}; }
inline std::string Le24(uint32_t v) { return Le16(v & 0xFFFF) + char(v >> 16); }
inline std::string Le32(uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }

// --- PNG -------------------------------------------------------------------------------

inline std::string PngChunk(std::string_view type, std::string_view data) {
  std::string body = std::string(type) + std::string(data);
  const uLong crc =
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return Be32(static_cast<uint32_t>(data.size())) + body + Be32(static_cast<uint32_t>(crc));
}

inline std::string Ihdr(uint32_t w, uint32_t h, int depth, int color_type) {
  return PngChunk("IHDR", Be32(w) + Be32(h) + char(depth) + char(color_type) + '\0' + '\0' + '\0');
}

inline std::string PngSignature() { return std::string("\x89PNG\r\n\x1a\n", 8); }

// A complete PNG: `rows` are the raw scanlines without filter bytes (filter 0 is added);
// `extra` chunks (PLTE, tRNS, eXIf...) go between IHDR and IDAT.
inline std::string MakePng(uint32_t w, uint32_t h, int depth, int color_type,
                           const std::vector<std::string>& rows, const std::string& extra = "") {
  std::string raw;
  for (const std::string& r : rows) raw += '\0' + r;
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string z(size, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  z.resize(size);
  return PngSignature() + Ihdr(w, h, depth, color_type) + extra + PngChunk("IDAT", z) +
         PngChunk("IEND", "");
}

// --- JPEG and EXIF ----------------------------------------------------------------------

// A TIFF block with one IFD0 entry, Orientation = `orientation`, in either byte order.
inline std::string ExifTiff(int orientation, bool big_endian = false) {
  auto u16 = [&](uint32_t v) { return big_endian ? Be16(v) : Le16(v); };
  auto u32 = [&](uint32_t v) { return big_endian ? Be32(v) : Le32(v); };
  std::string t = big_endian ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  t += u32(8) + u16(1);                                            // IFD0 at 8, one entry
  t += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0);  // SHORT, count 1
  t += u32(0);                                                     // no next IFD
  return t;
}

// `jpeg` with an APP1 Exif segment carrying `orientation` inserted right after SOI.
inline std::string WithExifOrientation(const std::string& jpeg, int orientation,
                                       bool big_endian = false) {
  const std::string payload = std::string("Exif\0\0", 6) + ExifTiff(orientation, big_endian);
  const std::string app1 = "\xFF\xE1" + Be16(static_cast<uint32_t>(payload.size() + 2)) + payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

// SOI + SOF0 declaring w x h with 3 components + a minimal SOS + EOI: header-only JPEG.
inline std::string JpegFrameOnly(uint32_t w, uint32_t h) {
  std::string sof = "\xFF\xC0" + Be16(17) + char(8) + Be16(h) + Be16(w) + char(3);
  for (int c = 1; c <= 3; ++c) sof += std::string{char(c), char(0x11), char(0)};
  std::string sos = "\xFF\xDA" + Be16(12) + char(3);
  for (int c = 1; c <= 3; ++c) sos += std::string{char(c), char(0)};
  sos += std::string("\x00\x3F\x00", 3);
  return "\xFF\xD8" + sof + sos + std::string("\x12\x34\xFF\xD9", 4);
}

// A header-only JPEG with `scans` scans of one byte each: a decoding-time bomb when large.
inline std::string JpegManyScans(uint32_t w, uint32_t h, int scans) {
  const std::string one = JpegFrameOnly(w, h);
  const size_t sos = one.find("\xFF\xDA");
  std::string scan = one.substr(sos, 14) + '\x12';  // SOS header (2 + 12 bytes) + data
  std::string out = one.substr(0, sos);
  for (int i = 0; i < scans; ++i) out += scan;
  return out + "\xFF\xD9";
}

// Encodes a BGR(A) or grey Mat with OpenCV (".jpg", ".png", ".webp").
inline std::string Encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params)) << ext;
  return std::string(out.begin(), out.end());
}

// A BGR test picture: left half red, right half blue.
inline cv::Mat RedBlue(int w, int h) {
  cv::Mat m(h, w, CV_8UC3, cv::Scalar(255, 0, 0));
  m(cv::Rect(0, 0, w / 2, h)).setTo(cv::Scalar(0, 0, 255));
  return m;
}

// --- WebP -------------------------------------------------------------------------------

inline std::string RiffChunk(std::string_view fourcc, std::string_view data) {
  std::string c =
      std::string(fourcc) + Le32(static_cast<uint32_t>(data.size())) + std::string(data);
  if (data.size() % 2 == 1) c += '\0';
  return c;
}

inline std::string Riff(std::string_view chunks) {
  return "RIFF" + Le32(static_cast<uint32_t>(chunks.size() + 4)) + "WEBP" + std::string(chunks);
}

// A VP8X chunk (flags, canvas w x h).
inline std::string Vp8x(uint8_t flags, uint32_t w, uint32_t h) {
  return RiffChunk("VP8X", std::string{char(flags), 0, 0, 0} + Le24(w - 1) + Le24(h - 1));
}

}  // namespace sparkify::vision::testing
