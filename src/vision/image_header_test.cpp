// ParseImageHeader and ExifOrientation on hand-built and OpenCV-encoded headers.
#include "vision/image_header.h"

#include <gtest/gtest.h>

#include "vision/test_util.h"

namespace sparkify::vision {
namespace {

using namespace sparkify::vision::testing;  // NOLINT

struct HeaderCase {
  const char* name;
  std::string bytes;
  ImageFormat format;
  uint32_t width;
  uint32_t height;
  int orientation;
  bool truncated;
};

std::vector<HeaderCase> GoodCases() {
  const std::string jpeg = Encode(RedBlue(40, 20), ".jpg");
  const std::string one_row(3 * 3, '\x7f');
  return {
      {"png_rgb", MakePng(3, 2, 8, 2, {one_row, one_row}), ImageFormat::kPng, 3, 2, 1, false},
      {"png_bomb_header", PngSignature() + Ihdr(30000, 30000, 8, 6), ImageFormat::kPng, 30000,
       30000, 1, false},
      {"png_exif", MakePng(3, 2, 8, 2, {one_row, one_row}, PngChunk("eXIf", ExifTiff(6))),
       ImageFormat::kPng, 3, 2, 6, false},
      {"jpeg_opencv", jpeg, ImageFormat::kJpeg, 40, 20, 1, false},
      {"jpeg_exif_le", WithExifOrientation(jpeg, 6), ImageFormat::kJpeg, 40, 20, 6, false},
      {"jpeg_exif_be", WithExifOrientation(jpeg, 8, true), ImageFormat::kJpeg, 40, 20, 8, false},
      {"jpeg_exif_out_of_range", WithExifOrientation(jpeg, 9), ImageFormat::kJpeg, 40, 20, 1,
       false},
      {"jpeg_cut_in_scan", jpeg.substr(0, jpeg.size() - 40), ImageFormat::kJpeg, 40, 20, 1, true},
      {"jpeg_cut_before_sos", jpeg.substr(0, jpeg.find("\xFF\xDA")), ImageFormat::kJpeg, 40, 20, 1,
       true},
      {"jpeg_sof_65000", JpegFrameOnly(65000, 65000), ImageFormat::kJpeg, 65000, 65000, 1, false},
      {"jpeg_fill_bytes", "\xFF\xD8\xFF\xFF\xFF" + JpegFrameOnly(7, 9).substr(3),
       ImageFormat::kJpeg, 7, 9, 1, false},
      {"webp_lossy", Encode(RedBlue(40, 20), ".webp", {cv::IMWRITE_WEBP_QUALITY, 80}),
       ImageFormat::kWebp, 40, 20, 1, false},
      {"webp_lossless", Encode(RedBlue(41, 21), ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}),
       ImageFormat::kWebp, 41, 21, 1, false},
      {"webp_vp8x", Riff(Vp8x(0x10, 70000, 3)), ImageFormat::kWebp, 70000, 3, 1, false},
      {"webp_vp8x_exif",
       Riff(Vp8x(0x08, 5, 6) + RiffChunk("ICCP", "abc") + RiffChunk("EXIF", ExifTiff(3, true))),
       ImageFormat::kWebp, 5, 6, 3, false},
  };
}

TEST(ImageHeaderTest, ParsesGoodHeaders) {
  for (const HeaderCase& c : GoodCases()) {
    SCOPED_TRACE(c.name);
    Result<ImageHeader> h = ParseImageHeader(c.bytes);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->format, c.format);
    EXPECT_EQ(h->width, c.width);
    EXPECT_EQ(h->height, c.height);
    EXPECT_EQ(h->orientation, c.orientation);
    EXPECT_EQ(h->truncated, c.truncated);
  }
}

struct BadCase {
  const char* name;
  std::string bytes;
  const char* message;  // expected in the error text
};

std::vector<BadCase> BadCases() {
  const std::string ihdr = Ihdr(30, 20, 8, 2);
  std::string bad_crc = PngSignature() + ihdr;
  bad_crc[bad_crc.size() - 1] ^= 1;
  const std::string jpeg = Encode(RedBlue(40, 20), ".jpg");
  return {
      {"empty", "", "empty"},
      {"text", "hello, this is a text file\n", "not a JPEG, PNG or WebP"},
      {"gif", Bytes("GIF89a\x01\x00\x01\x00"), "not a JPEG, PNG or WebP"},
      {"png_short", PngSignature() + ihdr.substr(0, 10), "cut short"},
      {"png_bad_crc", bad_crc, "CRC"},
      {"png_not_ihdr_first", PngSignature() + PngChunk("tEXt", std::string(13, 'a')), "IHDR"},
      {"png_zero_width", PngSignature() + Ihdr(0, 20, 8, 2), "zero image size"},
      {"png_bad_depth", PngSignature() + Ihdr(30, 20, 3, 2), "bit depth"},
      {"png_huge_width", PngSignature() + Ihdr(0x80000000u, 1, 8, 2), "2^31"},
      {"jpeg_soi_only", "\xFF\xD8", "before the frame header"},
      {"jpeg_header_cut", jpeg.substr(0, 20), "before the frame header"},
      {"jpeg_no_marker", "\xFF\xD8\x12\x34", "expected a marker"},
      {"jpeg_eoi_first", "\xFF\xD8\xFF\xD9", "end of image"},
      {"jpeg_sos_first", Bytes("\xFF\xD8\xFF\xDA\x00\x02"), "before the frame header"},
      {"jpeg_zero_height", JpegFrameOnly(10, 0), "height 0"},
      {"jpeg_zero_width", JpegFrameOnly(0, 10), "zero image size"},
      {"jpeg_short_segment", Bytes("\xFF\xD8\xFF\xE0\x00\x01"), "length below 2"},
      {"webp_short", Bytes("RIFF\x10\x00\x00\x00WEBP"), "cut short"},
      {"webp_unknown_chunk", Riff(RiffChunk("ABCD", std::string(10, 'x'))), "unknown first chunk"},
      {"webp_animated", Riff(Vp8x(0x02, 10, 10)), "animated"},
      {"webp_vp8l_bad_signature", Riff(RiffChunk("VP8L", Bytes("\x00\x01\x02\x03\x04"))),
       "signature"},
      {"webp_vp8_no_start_code", Riff(RiffChunk("VP8 ", std::string(10, '\0'))), "start code"},
  };
}

TEST(ImageHeaderTest, RefusesBadHeadersWithClearMessages) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(c.name);
    Result<ImageHeader> h = ParseImageHeader(c.bytes);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(h.status().message().find(c.message), std::string::npos) << h.status().message();
  }
}

TEST(ImageHeaderTest, JpegScansAreCountedAndEndMarkersFoundOnlyOutsideSegments) {
  const std::string baseline = Encode(RedBlue(40, 20), ".jpg");
  Result<ImageHeader> h = ParseImageHeader(baseline);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->jpeg_scans, 1);
  h = ParseImageHeader(Encode(RedBlue(40, 20), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  ASSERT_TRUE(h.ok());
  EXPECT_GT(h->jpeg_scans, 1);
  EXPECT_LE(h->jpeg_scans, 20);
  EXPECT_FALSE(h->truncated);
  // Frame, scan, then a comment between scans whose text holds FF D9 and FF DA: neither is a
  // marker, so the file has one scan and no end.
  std::string jpeg = JpegFrameOnly(8, 8);
  jpeg.resize(jpeg.size() - 2);  // drop the EOI
  jpeg += "\xFF\xFE" + Be16(8) + Bytes("\xFF\xD9\xFF\xDA\x00\x08");
  h = ParseImageHeader(jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->jpeg_scans, 1);
  EXPECT_TRUE(h->truncated);
  // Stuffed FF 00 and restart markers in the scan data are not ends either.
  jpeg += Bytes("\x11\xFF\x00\x22\xFF\xD3\x33\xFF\xFF\xD9");
  h = ParseImageHeader(jpeg);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->truncated);
}

TEST(ImageHeaderTest, EveryPrefixOfAValidFileIsHandled) {
  // No prefix may read out of bounds (ASan builds check) or claim a complete JPEG.
  const std::string jpeg = WithExifOrientation(Encode(RedBlue(24, 16), ".jpg"), 6);
  const std::string png = Encode(RedBlue(24, 16), ".png");
  const std::string webp = Encode(RedBlue(24, 16), ".webp");
  for (size_t n = 0; n < jpeg.size(); ++n) {
    Result<ImageHeader> h = ParseImageHeader(std::string_view(jpeg).substr(0, n));
    if (h.ok()) {
      EXPECT_TRUE(h->truncated) << n;
    }
  }
  for (const std::string* f : {&png, &webp}) {
    for (size_t n = 0; n < f->size(); ++n)
      (void)ParseImageHeader(std::string_view(*f).substr(0, n));
  }
}

TEST(ExifOrientationTest, ReadsBothByteOrdersAndRefusesMalformedBlocks) {
  for (int o = 1; o <= 8; ++o) {
    EXPECT_EQ(ExifOrientation(ExifTiff(o)), o);
    EXPECT_EQ(ExifOrientation(ExifTiff(o, true)), o);
    EXPECT_EQ(ExifOrientation(std::string("Exif\0\0", 6) + ExifTiff(o)), o);
  }
  EXPECT_EQ(ExifOrientation(""), 1);
  EXPECT_EQ(ExifOrientation(ExifTiff(0)), 1);
  EXPECT_EQ(ExifOrientation(Bytes("XX*\0\x08\0\0\0")), 1);
  std::string far = ExifTiff(6);
  far[4] = '\xF0';  // IFD0 offset past the end
  EXPECT_EQ(ExifOrientation(far), 1);
  std::string many = ExifTiff(6);
  many[8] = '\x40';   // 64 entries claimed, one present,
  many[10] = '\x13';  // and it is not Orientation: the walk must stop at the end
  EXPECT_EQ(ExifOrientation(many), 1);
  std::string long_type = ExifTiff(6);
  long_type[12] = 4;  // LONG instead of SHORT
  EXPECT_EQ(ExifOrientation(long_type), 1);
}

TEST(FormatNameTest, NamesEveryFormat) {
  EXPECT_EQ(FormatName(ImageFormat::kJpeg), "JPEG");
  EXPECT_EQ(FormatName(ImageFormat::kPng), "PNG");
  EXPECT_EQ(FormatName(ImageFormat::kWebp), "WebP");
}

TEST(SniffImageFormat, MagicBytesOnly) {
  EXPECT_EQ(SniffImageFormat(std::string("\xFF\xD8\xFF\xE0", 4)), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat(std::string("\xFF\xD8", 2)), ImageFormat::kJpeg);  // malformed after
  EXPECT_EQ(SniffImageFormat(std::string("\xFF\xD9", 2)), std::nullopt);
  EXPECT_EQ(SniffImageFormat(std::string("\x89PNG\r\n\x1a\n", 8)), ImageFormat::kPng);
  EXPECT_EQ(SniffImageFormat("RIFF\x10\0\0\0WEBPVP8 "), std::nullopt);  // embedded NUL: too short
  EXPECT_EQ(SniffImageFormat(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), ImageFormat::kWebp);
  EXPECT_EQ(SniffImageFormat("GIF89a"), std::nullopt);
  EXPECT_EQ(SniffImageFormat(""), std::nullopt);
}

}  // namespace
}  // namespace sparkify::vision
