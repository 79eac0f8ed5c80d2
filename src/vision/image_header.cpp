// Header parsers for JPEG (marker walk up to the first scan), PNG (IHDR, then ancillary chunks
// up to IDAT) and WebP (RIFF, then VP8 / VP8L / VP8X), and the EXIF orientation reader.
#include "vision/image_header.h"

#include <array>
#include <cstring>
#include <string>

#include "common/crypto.h"

namespace sparkify::vision {
namespace {

uint8_t U8(std::string_view b, size_t at) { return static_cast<uint8_t>(b[at]); }
uint32_t Be16(std::string_view b, size_t at) { return (U8(b, at) << 8) | U8(b, at + 1); }
uint32_t Be32(std::string_view b, size_t at) { return (Be16(b, at) << 16) | Be16(b, at + 2); }
uint32_t Le16(std::string_view b, size_t at) { return U8(b, at) | (U8(b, at + 1) << 8); }
uint32_t Le24(std::string_view b, size_t at) { return Le16(b, at) | (U8(b, at + 2) << 16); }
uint32_t Le32(std::string_view b, size_t at) { return Le24(b, at) | (U8(b, at + 3) << 24); }

Status Bad(ImageFormat format, std::string_view what) {
  return Status::InvalidArgument(std::string(FormatName(format)) + " header: " + std::string(what));
}

Status CheckSize(ImageFormat format, uint32_t width, uint32_t height) {
  if (width == 0 || height == 0) {
    return Bad(format, "zero image size " + std::to_string(width) + "x" + std::to_string(height));
  }
  return Status::OK();
}

constexpr std::string_view kExifPrefix("Exif\0\0", 6);

// --- JPEG -------------------------------------------------------------------------------

bool IsSof(uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks the rest of a JPEG from the end of its first SOS header: entropy-coded data is
// searched for the next marker (an FF not followed by 00, a restart marker or another FF),
// marker segments between scans are skipped by their length (so bytes inside them are never
// taken for markers). Counts the scans and notes whether an EOI ends them.
void WalkScans(std::string_view b, size_t pos, ImageHeader& h) {
  h.jpeg_scans = 1;
  h.truncated = true;
  while (pos < b.size()) {
    const void* ff = std::memchr(b.data() + pos, 0xFF, b.size() - pos);
    if (ff == nullptr) return;
    size_t m = static_cast<size_t>(static_cast<const char*>(ff) - b.data()) + 1;
    while (m < b.size() && U8(b, m) == 0xFF) ++m;  // fill bytes
    if (m >= b.size()) return;
    const uint8_t marker = U8(b, m);
    pos = m + 1;
    if (marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    if (marker == 0xD9) {
      h.truncated = false;
      return;
    }
    if (pos + 2 > b.size()) return;
    const size_t len = Be16(b, pos);
    if (len < 2) return;  // libjpeg will refuse it
    if (marker == 0xDA) ++h.jpeg_scans;
    pos += len;
  }
}

Result<ImageHeader> ParseJpeg(std::string_view b) {
  constexpr ImageFormat kF = ImageFormat::kJpeg;
  ImageHeader h;
  h.format = kF;
  bool have_sof = false;
  bool have_exif = false;
  size_t pos = 2;  // after SOI
  while (true) {
    if (pos >= b.size()) break;  // ends before the first scan
    if (U8(b, pos) != 0xFF) {
      return Bad(kF, "expected a marker at byte " + std::to_string(pos));
    }
    while (pos < b.size() && U8(b, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) break;
    const uint8_t marker = U8(b, pos++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no payload
    if (marker == 0x00 || marker == 0xD8) return Bad(kF, "misplaced marker");
    if (marker == 0xD9) return Bad(kF, "end of image before any image data");
    if (pos + 2 > b.size()) break;
    const size_t len = Be16(b, pos);
    if (len < 2) return Bad(kF, "segment length below 2");
    const size_t end = pos + len;
    const std::string_view body = b.substr(pos + 2, len - 2);  // may be cut short
    if (IsSof(marker) && !have_sof) {
      if (len < 8) return Bad(kF, "frame header (SOF) too short");
      if (body.size() < 5) break;
      h.bits_per_sample = U8(body, 0);
      h.height = Be16(body, 1);
      h.width = Be16(body, 3);
      if (body.size() >= 6) h.channels = U8(body, 5);
      if (h.height == 0) return Bad(kF, "frame height 0 (DNL-defined height is not supported)");
      SPARKIFY_RETURN_IF_ERROR(CheckSize(kF, h.width, h.height));
      have_sof = true;
    } else if (marker == 0xE1 && !have_exif && body.substr(0, 6) == kExifPrefix) {
      h.orientation = ExifOrientation(body.substr(6));
      have_exif = true;
    } else if (marker == 0xDA) {
      if (!have_sof) return Bad(kF, "scan (SOS) before the frame header (SOF)");
      WalkScans(b, end, h);
      return h;
    }
    pos = end;
  }
  if (!have_sof) return Bad(kF, "ends before the frame header (SOF)");
  h.truncated = true;
  return h;
}

// --- PNG --------------------------------------------------------------------------------

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

bool ValidPngDepth(uint32_t color_type, uint32_t depth) {
  switch (color_type) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

Result<ImageHeader> ParsePng(std::string_view b) {
  constexpr ImageFormat kF = ImageFormat::kPng;
  // signature(8) + length(4) + "IHDR"(4) + 13 bytes + CRC(4)
  if (b.size() < 33) return Bad(kF, "cut short before the end of IHDR");
  if (Be32(b, 8) != 13 || b.substr(12, 4) != "IHDR") {
    return Bad(kF, "the first chunk is not a 13-byte IHDR");
  }
  if (Crc32(b.substr(12, 17)) != Be32(b, 29)) return Bad(kF, "IHDR CRC mismatch");
  ImageHeader h;
  h.format = kF;
  h.width = Be32(b, 16);
  h.height = Be32(b, 20);
  if (h.width > 0x7FFFFFFFu || h.height > 0x7FFFFFFFu) return Bad(kF, "size over 2^31-1");
  SPARKIFY_RETURN_IF_ERROR(CheckSize(kF, h.width, h.height));
  const uint32_t depth = U8(b, 24);
  const uint32_t color_type = U8(b, 25);
  if (!ValidPngDepth(color_type, depth)) {
    return Bad(kF, "invalid bit depth " + std::to_string(depth) + " for colour type " +
                       std::to_string(color_type));
  }
  h.bits_per_sample = static_cast<int>(depth);
  h.channels = color_type == 2 ? 3 : color_type == 4 ? 2 : color_type == 6 ? 4 : 1;
  if (U8(b, 26) != 0 || U8(b, 27) != 0 || U8(b, 28) > 1) {
    return Bad(kF, "unknown compression, filter or interlace method");
  }
  // Ancillary chunks before the image data: only eXIf matters here.
  for (size_t pos = 33; pos + 8 <= b.size();) {
    const uint64_t len = Be32(b, pos);
    const std::string_view type = b.substr(pos + 4, 4);
    if (type == "IDAT" || type == "IEND") break;
    if (type == "eXIf") {
      h.orientation = ExifOrientation(b.substr(pos + 8, len));
      break;
    }
    pos += 12 + len;
  }
  return h;
}

// --- WebP -------------------------------------------------------------------------------

// Size of a RIFF chunk's payload plus its padding to an even length.
uint64_t PaddedSize(uint32_t size) { return static_cast<uint64_t>(size) + (size & 1); }

Result<ImageHeader> ParseWebp(std::string_view b) {
  constexpr ImageFormat kF = ImageFormat::kWebp;
  if (b.size() < 20) return Bad(kF, "cut short before the first chunk");
  ImageHeader h;
  h.format = kF;
  h.channels = 4;  // at most: libwebp decodes to RGB(A)
  const std::string_view fourcc = b.substr(12, 4);
  const std::string_view payload = b.substr(20, Le32(b, 16));  // may be cut short
  if (fourcc == "VP8 ") {
    if (payload.size() < 10) return Bad(kF, "VP8 frame header cut short");
    if ((U8(payload, 0) & 1) != 0) return Bad(kF, "VP8 frame is not a key frame");
    if (payload.substr(3, 3) != std::string_view("\x9d\x01\x2a", 3)) {
      return Bad(kF, "VP8 start code missing");
    }
    h.width = Le16(payload, 6) & 0x3FFF;
    h.height = Le16(payload, 8) & 0x3FFF;
  } else if (fourcc == "VP8L") {
    if (payload.size() < 5) return Bad(kF, "VP8L header cut short");
    if (U8(payload, 0) != 0x2F) return Bad(kF, "VP8L signature missing");
    const uint32_t bits = Le32(payload, 1);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (fourcc == "VP8X") {
    if (payload.size() < 10) return Bad(kF, "VP8X header cut short");
    const uint8_t flags = U8(payload, 0);
    if ((flags & 0x02) != 0) return Bad(kF, "animated WebP is not supported");
    h.width = Le24(payload, 4) + 1;
    h.height = Le24(payload, 7) + 1;
    if ((flags & 0x08) != 0) {  // an EXIF chunk follows somewhere
      for (uint64_t pos = 20 + PaddedSize(Le32(b, 16)); pos + 8 <= b.size();) {
        const uint32_t size = Le32(b, pos + 4);
        if (b.substr(pos, 4) == "EXIF") {
          h.orientation = ExifOrientation(b.substr(pos + 8, size));
          break;
        }
        pos += 8 + PaddedSize(size);
      }
    }
  } else {
    return Bad(kF, "unknown first chunk (want VP8, VP8L or VP8X)");
  }
  SPARKIFY_RETURN_IF_ERROR(CheckSize(kF, h.width, h.height));
  return h;
}

}  // namespace

std::string_view FormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kWebp:
      return "WebP";
  }
  return "?";
}

std::optional<ImageFormat> SniffImageFormat(std::string_view bytes) {
  if (bytes.size() >= 2 && U8(bytes, 0) == 0xFF && U8(bytes, 1) == 0xD8) {
    return ImageFormat::kJpeg;
  }
  if (bytes.substr(0, 8) == kPngSignature) return ImageFormat::kPng;
  if (bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") {
    return ImageFormat::kWebp;
  }
  return std::nullopt;
}

Result<ImageHeader> ParseImageHeader(std::string_view bytes) {
  if (bytes.empty()) return Status::InvalidArgument("image is empty (0 bytes)");
  const std::optional<ImageFormat> format = SniffImageFormat(bytes);
  if (format == ImageFormat::kJpeg) return ParseJpeg(bytes);
  if (format == ImageFormat::kPng) return ParsePng(bytes);
  if (format == ImageFormat::kWebp) return ParseWebp(bytes);
  return Status::InvalidArgument("not a JPEG, PNG or WebP image (unrecognised leading bytes)");
}

int ExifOrientation(std::string_view tiff) {
  if (tiff.substr(0, 6) == kExifPrefix) tiff.remove_prefix(6);
  if (tiff.size() < 8) return 1;
  const bool le = tiff.substr(0, 4) == std::string_view("II*\0", 4);
  if (!le && tiff.substr(0, 4) != std::string_view("MM\0*", 4)) return 1;
  auto u16 = [&](uint64_t at) { return le ? Le16(tiff, at) : Be16(tiff, at); };
  auto u32 = [&](uint64_t at) { return le ? Le32(tiff, at) : Be32(tiff, at); };
  const uint64_t ifd = u32(4);
  if (ifd + 2 > tiff.size()) return 1;
  const uint32_t count = u16(ifd);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.size()) return 1;
    if (u16(entry) != 0x0112) continue;
    constexpr uint32_t kShort = 3;
    if (u16(entry + 2) != kShort || u32(entry + 4) < 1) return 1;
    const uint32_t value = u16(entry + 8);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace sparkify::vision
