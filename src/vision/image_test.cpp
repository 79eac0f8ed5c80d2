// DecodeImage: colour layouts, EXIF orientation, limits and bad inputs.
#include "vision/image.h"

#include <zlib.h>

#include <chrono>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/cutout.h"
#include "vision/internal/codecs.h"
#include "vision/test_util.h"

namespace sparkify::vision {
namespace {

using namespace sparkify::vision::testing;  // NOLINT

cv::Vec3b Rgb(const Image& im, int x, int y) { return im.pixels.at<cv::Vec3b>(y, x); }
cv::Vec4b Rgba(const Image& im, int x, int y) { return im.pixels.at<cv::Vec4b>(y, x); }

Image MustDecode(const Result<Image>& im) {
  EXPECT_TRUE(im.ok()) << im.status().ToString();
  return im.ok() ? *im : Image{};
}

Image MustDecode(const std::string& bytes) { return MustDecode(DecodeImage(bytes)); }

void ExpectNear(cv::Vec3b got, cv::Vec3b want, int tolerance) {
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want[c], tolerance) << "channel " << c;
}

TEST(DecodeImageTest, RgbPngIsRgbInRgbOrder) {
  const std::string row = Bytes("\xFF\x00\x00\x00\x00\xFF");  // red, blue
  Image im = MustDecode(MakePng(2, 1, 8, 2, {row}));
  ASSERT_EQ(im.pixels.type(), CV_8UC3);
  EXPECT_TRUE(im.pixels.isContinuous());
  EXPECT_EQ(Rgb(im, 0, 0), cv::Vec3b(255, 0, 0));
  EXPECT_EQ(Rgb(im, 1, 0), cv::Vec3b(0, 0, 255));
}

TEST(DecodeImageTest, GreyPngBecomesRgb) {
  Image im = MustDecode(MakePng(2, 1, 8, 0, {Bytes("\x10\xF0")}));
  ASSERT_EQ(im.pixels.type(), CV_8UC3);
  EXPECT_EQ(Rgb(im, 0, 0), cv::Vec3b(16, 16, 16));
  EXPECT_EQ(Rgb(im, 1, 0), cv::Vec3b(240, 240, 240));
}

TEST(DecodeImageTest, SixteenBitPngIsScaledToEightBits) {
  const std::string row = Bytes("\xFF\xFF\x80\x80\x00\x00");  // one pixel: 65535, 32896, 0
  Image im = MustDecode(MakePng(1, 1, 16, 2, {row}));
  ASSERT_EQ(im.pixels.type(), CV_8UC3);
  EXPECT_EQ(Rgb(im, 0, 0), cv::Vec3b(255, 128, 0));
}

TEST(DecodeImageTest, PalettePngWithAndWithoutTransparency) {
  const std::string plte = PngChunk("PLTE", Bytes("\xFF\x00\x00\x00\x80\x00"));  // red, green
  const std::string row = Bytes("\x00\x01");
  Image opaque = MustDecode(MakePng(2, 1, 8, 3, {row}, plte));
  ASSERT_EQ(opaque.pixels.type(), CV_8UC3);
  EXPECT_EQ(Rgb(opaque, 0, 0), cv::Vec3b(255, 0, 0));
  EXPECT_EQ(Rgb(opaque, 1, 0), cv::Vec3b(0, 128, 0));
  Image alpha = MustDecode(MakePng(2, 1, 8, 3, {row}, plte + PngChunk("tRNS", Bytes("\x40"))));
  ASSERT_EQ(alpha.pixels.type(), CV_8UC4);
  EXPECT_EQ(Rgba(alpha, 0, 0), cv::Vec4b(255, 0, 0, 64));
  EXPECT_EQ(Rgba(alpha, 1, 0), cv::Vec4b(0, 128, 0, 255));
}

TEST(DecodeImageTest, AlphaIsKept) {
  Image ga = MustDecode(MakePng(1, 1, 8, 4, {Bytes("\x50\x20")}));  // grey + alpha
  ASSERT_EQ(ga.pixels.type(), CV_8UC4);
  EXPECT_EQ(Rgba(ga, 0, 0), cv::Vec4b(80, 80, 80, 32));
  Image rgba = MustDecode(MakePng(1, 1, 8, 6, {Bytes("\x01\x02\x03\x04")}));
  ASSERT_EQ(rgba.pixels.type(), CV_8UC4);
  EXPECT_EQ(Rgba(rgba, 0, 0), cv::Vec4b(1, 2, 3, 4));
  cv::Mat bgra(8, 8, CV_8UC4, cv::Scalar(255, 0, 0, 100));  // blue, alpha 100
  Image webp = MustDecode(Encode(bgra, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}));
  ASSERT_EQ(webp.pixels.type(), CV_8UC4);
  EXPECT_EQ(Rgba(webp, 3, 3), cv::Vec4b(0, 0, 255, 100));
}

TEST(DecodeImageTest, GreyAndCmykJpegBecomeRgb) {
  cv::Mat grey(8, 8, CV_8UC1, cv::Scalar(200));
  Image g = MustDecode(Encode(grey, ".jpg"));
  ASSERT_EQ(g.pixels.type(), CV_8UC3);
  ExpectNear(Rgb(g, 4, 4), cv::Vec3b(200, 200, 200), 2);
  // testdata/cmyk.jpg: 16x8, Adobe CMYK, left half red, right half blue (make_cmyk_jpeg.c).
  Image cmyk = MustDecode(ReadFile(TestdataDir() + "/cmyk.jpg"));
  ASSERT_EQ(cmyk.pixels.type(), CV_8UC3);
  ASSERT_EQ(cmyk.width(), 16);
  ExpectNear(Rgb(cmyk, 2, 4), cv::Vec3b(255, 0, 0), 8);
  ExpectNear(Rgb(cmyk, 13, 4), cv::Vec3b(0, 0, 255), 8);
}

TEST(DecodeImageTest, WebpLossyAndLossless) {
  for (int quality : {80, 101}) {
    SCOPED_TRACE(quality);
    Image im = MustDecode(Encode(RedBlue(40, 20), ".webp", {cv::IMWRITE_WEBP_QUALITY, quality}));
    ASSERT_EQ(im.pixels.type(), CV_8UC3);
    EXPECT_EQ(im.width(), 40);
    ExpectNear(Rgb(im, 5, 10), cv::Vec3b(255, 0, 0), 24);
    ExpectNear(Rgb(im, 35, 10), cv::Vec3b(0, 0, 255), 24);
  }
}

struct OrientationCase {
  int orientation;
  int width;  // upright size of the 80x40 stored picture
  int height;
  cv::Point green, red, blue;  // where its three regions end up
};

TEST(DecodeImageTest, ExifOrientationIsApplied) {
  // Stored 80x40: top-left quadrant green, bottom-left red, right half blue (BGR below).
  cv::Mat stored(40, 80, CV_8UC3, cv::Scalar(255, 0, 0));
  stored(cv::Rect(0, 0, 40, 40)).setTo(cv::Scalar(0, 0, 255));
  stored(cv::Rect(0, 0, 40, 20)).setTo(cv::Scalar(0, 255, 0));
  const std::string jpeg = Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100});
  const OrientationCase cases[] = {
      {1, 80, 40, {10, 10}, {10, 30}, {70, 20}}, {2, 80, 40, {70, 10}, {70, 30}, {10, 20}},
      {3, 80, 40, {70, 30}, {70, 10}, {10, 20}}, {4, 80, 40, {10, 30}, {10, 10}, {70, 20}},
      {5, 40, 80, {10, 20}, {30, 20}, {20, 70}}, {6, 40, 80, {30, 20}, {10, 20}, {20, 70}},
      {7, 40, 80, {30, 60}, {10, 60}, {20, 10}}, {8, 40, 80, {10, 60}, {30, 60}, {20, 10}},
  };
  for (const OrientationCase& c : cases) {
    SCOPED_TRACE(c.orientation);
    for (bool big_endian : {false, true}) {
      Image im = MustDecode(WithExifOrientation(jpeg, c.orientation, big_endian));
      ASSERT_EQ(im.width(), c.width);
      ASSERT_EQ(im.height(), c.height);
      ExpectNear(Rgb(im, c.green.x, c.green.y), cv::Vec3b(0, 255, 0), 24);
      ExpectNear(Rgb(im, c.red.x, c.red.y), cv::Vec3b(255, 0, 0), 24);
      ExpectNear(Rgb(im, c.blue.x, c.blue.y), cv::Vec3b(0, 0, 255), 24);
    }
  }
}

TEST(DecodeImageTest, PngExifOrientationIsApplied) {
  const std::string row(3 * 4, '\x7f');
  Image im = MustDecode(MakePng(4, 2, 8, 2, {row, row}, PngChunk("eXIf", ExifTiff(8))));
  EXPECT_EQ(im.width(), 2);
  EXPECT_EQ(im.height(), 4);
}

void ExpectInvalid(const Result<Image>& r, const std::string& text) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

TEST(DecodeImageTest, BadInputsAreClearErrors) {
  ExpectInvalid(DecodeImage(""), "empty");
  ExpectInvalid(DecodeImage("just some text, no image here\n"), "not a JPEG, PNG or WebP");
  ExpectInvalid(DecodeImage(Bytes("BM\x3a\0\0\0\0\0\0\0")), "not a JPEG, PNG or WebP");  // BMP
  // scikit-image's truncated.jpg (setup's samples): the scan data stops without an EOI.
  ExpectInvalid(DecodeImage(ReadFile(SamplePath("truncated.jpg"))), "truncated");
  // A photo cut in the middle of its scan data: OpenCV alone would return the image with its
  // lower part grey (libjpeg only warns); we refuse it.
  const std::string png = ReadFile(SamplePath("chelsea.png"));
  const std::string jpeg = Encode(
      cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8U, const_cast<char*>(png.data())),
                   cv::IMREAD_COLOR),
      ".jpg");
  ASSERT_GT(jpeg.size(), 10000u);
  ExpectInvalid(DecodeImage(jpeg.substr(0, jpeg.size() * 6 / 10)), "truncated");
  ExpectInvalid(DecodeImage(png.substr(0, png.size() / 2)), "could not be decoded");
  const std::string webp = Encode(RedBlue(64, 64), ".webp");
  ExpectInvalid(DecodeImage(webp.substr(0, webp.size() - 10)), "could not be decoded");
}

TEST(DecodeImageTest, BadWebpNeverReachesOtherOpenCvDecoders) {
  // fuzz_decode found these: RIFF/WEBP bytes that libwebp rejects, which cv::imdecode would
  // pass on to GDCM ("DICM" at byte 128: it aborted the process) or to GDAL ("DTED" at byte
  // 140, through a temp file). 12 + 18 (VP8X) + 8 (chunk header) + 90 = 128.
  const std::string dicom =
      Riff(Vp8x(0, 10, 10) + RiffChunk("JUNK", std::string(90, '\xFF') + "DICM" + "\xFF\xFF"));
  ASSERT_EQ(dicom.substr(128, 4), "DICM");
  ExpectInvalid(DecodeImage(dicom), "could not be decoded");
  const std::string dted =
      Riff(Vp8x(0, 10, 10) + RiffChunk("JUNK", std::string(102, '\0') + "DTED" + "\0\0"));
  ASSERT_EQ(dted.substr(140, 4), "DTED");
  ExpectInvalid(DecodeImage(dted), "could not be decoded");
  // The fuzzer's own input (plain cv::imdecode aborts on it).
  ExpectInvalid(DecodeImage(ReadFile(TestdataDir() + "/webp_dicm_abort.bin")), "decoded");
}

TEST(DecodeImageTest, CorruptScanDataDoesNotCrash) {
  std::string jpeg = Encode(RedBlue(64, 64), ".jpg");
  const size_t sos = jpeg.find("\xFF\xDA");
  for (size_t i = sos + 20; i + 2 < jpeg.size(); i += 7) jpeg[i] = static_cast<char>(i * 31);
  Result<Image> r = DecodeImage(jpeg);  // garbage pixels or an error; either is fine
  if (r.ok()) {
    EXPECT_EQ(r->width(), 64);
  }
}

TEST(DecodeImageTest, BombsAreRefusedFromTheHeaderWithoutAllocating) {
  // A PNG whose valid IHDR (real CRC) claims 30000x30000 RGBA (3.6 GB decoded), followed by a
  // tiny IDAT; and a JPEG whose SOF claims 65000x65000.
  const std::string png_bomb = PngSignature() + Ihdr(30000, 30000, 8, 6) +
                               PngChunk("IDAT", Bytes("\x78\x9c\x03\x00\x00\x00\x00\x01")) +
                               PngChunk("IEND", "");
  const std::string jpeg_bomb = JpegFrameOnly(65000, 65000);
  const std::string wide_webp = Riff(Vp8x(0, 16383 * 2, 2));
  const auto start = std::chrono::steady_clock::now();
  ExpectInvalid(DecodeImage(png_bomb), "side is over the limit of 16384");
  ExpectInvalid(DecodeImage(jpeg_bomb), "side is over the limit of 16384");
  ExpectInvalid(DecodeImage(wide_webp), "side is over the limit");
  const std::string square_bomb = JpegFrameOnly(10000, 10000);  // 100 MP, sides in range
  ExpectInvalid(DecodeImage(square_bomb), "over the limit of 40000000 pixels");
  // 50,000 one-byte scans over a 4000x4000 frame: each would be a pass over 16 MP.
  ExpectInvalid(DecodeImage(JpegManyScans(4000, 4000, 50000)), "50000 scans, over the limit");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 0.1) << "the bombs must fail on the header, before any decoding";
}

TEST(DecodeImageTest, LimitsAreConfigurable) {
  const std::string png = Encode(RedBlue(300, 200), ".png");
  DecodeLimits small_bytes;
  small_bytes.max_bytes = png.size() - 1;
  ExpectInvalid(DecodeImage(png, small_bytes), "over the limit of");
  DecodeLimits small_side;
  small_side.max_side = 256;
  ExpectInvalid(DecodeImage(png, small_side), "side is over the limit of 256");
  DecodeLimits few_pixels;
  few_pixels.max_pixels = 300 * 200 - 1;
  ExpectInvalid(DecodeImage(png, few_pixels), "over the limit of 59999 pixels");
  DecodeLimits few_scans;
  few_scans.max_jpeg_scans = 3;
  ExpectInvalid(
      DecodeImage(Encode(RedBlue(40, 20), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), few_scans),
      "scans, over the limit of 3");
  DecodeLimits exact;
  exact.max_bytes = png.size();
  exact.max_side = 300;
  exact.max_pixels = 300 * 200;
  EXPECT_TRUE(DecodeImage(png, exact).ok());
}

TEST(DecodeImageTest, RealSamplesDecode) {
  Image cat = MustDecode(ReadFile(SamplePath("chelsea.png")));
  EXPECT_EQ(cat.width(), 451);
  EXPECT_EQ(cat.height(), 300);
  Image rocket = MustDecode(ReadFile(SamplePath("rocket.jpg")));
  EXPECT_EQ(rocket.width(), 640);
  EXPECT_EQ(rocket.height(), 427);
  Image logo = MustDecode(ReadFile(SamplePath("logo.png")));
  EXPECT_TRUE(logo.has_alpha());
  Image camera = MustDecode(ReadFile(SamplePath("camera.png")));  // greyscale
  EXPECT_EQ(camera.pixels.type(), CV_8UC3);
}

TEST(DecodeImageTest, LargeJpegsAreReducedAtDecodeWhenAsked) {
  cv::Mat stored(1500, 2000, CV_8UC3, cv::Scalar(255, 0, 0));  // blue, red bottom-left
  stored(cv::Rect(0, 750, 1000, 750)).setTo(cv::Scalar(0, 0, 255));
  const std::string jpeg = Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  DecodeLimits limits;
  limits.reduce_to = 600;  // 2000 -> 1000 (>= 600) -> 500 (< 600): half size
  Image half = MustDecode(DecodeImage(jpeg, limits));
  EXPECT_EQ(half.width(), 1000);
  EXPECT_EQ(half.height(), 750);
  ExpectNear(Rgb(half, 100, 700), cv::Vec3b(255, 0, 0), 24);
  ExpectNear(Rgb(half, 900, 100), cv::Vec3b(0, 0, 255), 24);
  limits.reduce_to = 200;  // 2000 -> 250 at 1/8 still >= 200
  EXPECT_EQ(MustDecode(DecodeImage(jpeg, limits)).width(), 250);
  limits.reduce_to = 2000;  // no room to reduce
  EXPECT_EQ(MustDecode(DecodeImage(jpeg, limits)).width(), 2000);
  // Sides are rounded up; the EXIF orientation is applied to the reduced image.
  const std::string odd = Encode(cv::Mat(301, 403, CV_8UC3, cv::Scalar(9, 9, 9)), ".jpg");
  limits.reduce_to = 100;
  Image quarter = MustDecode(DecodeImage(WithExifOrientation(odd, 6), limits));
  EXPECT_EQ(quarter.width(), 76);    // ceil(301 / 4), after a quarter turn
  EXPECT_EQ(quarter.height(), 101);  // ceil(403 / 4)
  // PNG and WebP cannot be reduced at decode: they come whole.
  const std::string png = Encode(cv::Mat(300, 400, CV_8UC3, cv::Scalar(1, 2, 3)), ".png");
  EXPECT_EQ(MustDecode(DecodeImage(png, limits)).width(), 400);
}

TEST(DecodeImageTest, SampleBytesAreBoundedNotOnlyPixels) {
  // 6320 x 6320 of 16-bit RGBA: under 40 MP, but 320 MB of samples for the decoder (a small,
  // highly compressed file once cost 9 s and 880 MB). Refused from the header.
  const std::string deep = MakePng(6320, 6320, 16, 6, {});
  ExpectInvalid(DecodeImage(deep),
                "4 x 16-bit samples (319539200 bytes to decode) is over the "
                "limit of 201326592 bytes");
  // The same size in 8-bit grey is 40 MB of samples: past this check (it fails later, on the
  // missing image data).
  auto grey = DecodeImage(MakePng(6320, 6320, 8, 0, {}));
  ASSERT_FALSE(grey.ok());
  EXPECT_EQ(grey.status().message().find("samples"), std::string::npos);
  DecodeLimits small;
  small.max_sample_bytes = 1000;
  ExpectInvalid(DecodeImage(MakePng(20, 20, 16, 2, {}), small), "over the limit of 1000 bytes");
}

// OpenCV's imgcodecs (test-only here) as an independent decoder: IMREAD_UNCHANGED, then to
// 8-bit RGB(A) the way the product's decoder promises (16-bit: v / 257 rounded).
cv::Mat OpenCvRgb(const std::string& bytes) {
  cv::Mat m = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U,
                                   const_cast<char*>(bytes.data())),  // NOLINT
                           cv::IMREAD_UNCHANGED);
  if (m.depth() == CV_16U) m.convertTo(m, CV_8U, 1.0 / 257.0);
  cv::Mat out;
  const int code = m.channels() == 1   ? cv::COLOR_GRAY2RGB
                   : m.channels() == 3 ? cv::COLOR_BGR2RGB
                                       : cv::COLOR_BGRA2RGBA;
  cv::cvtColor(m, out, code);
  return out;
}

void ExpectSameAsOpenCv(const std::string& name, const std::string& bytes) {
  SCOPED_TRACE(name);
  Image ours = MustDecode(bytes);
  cv::Mat theirs = OpenCvRgb(bytes);
  ASSERT_EQ(ours.pixels.type(), theirs.type());
  ASSERT_EQ(ours.pixels.size(), theirs.size());
  EXPECT_EQ(cv::norm(ours.pixels, theirs, cv::NORM_INF), 0.0);
}

TEST(DecodeImageTest, EverySampleDecodesToOpenCvsPixels) {
  for (const char* name :
       {"astronaut.png", "camera.png", "chelsea.png", "clock_motion.png", "coffee.png", "coins.png",
        "horse.png", "hubble_deep_field.jpg", "ihc.png", "logo.png", "retina.jpg", "rocket.jpg"}) {
    ExpectSameAsOpenCv(name, ReadFile(SamplePath(name)));
  }
}

TEST(DecodeImageTest, PngLayoutsDecodeToOpenCvsPixels) {
  cv::Mat bgr(37, 53, CV_8UC3);
  cv::randu(bgr, 0, 256);
  cv::Mat bgra(37, 53, CV_8UC4);
  cv::randu(bgra, 0, 256);
  cv::Mat grey(37, 53, CV_8UC1);
  cv::randu(grey, 0, 256);
  cv::Mat deep(37, 53, CV_16UC4);
  cv::randu(deep, 0, 65536);
  cv::Mat deep_grey(37, 53, CV_16UC1);
  cv::randu(deep_grey, 0, 65536);
  ExpectSameAsOpenCv("rgb", Encode(bgr, ".png", {}));
  ExpectSameAsOpenCv("rgba", Encode(bgra, ".png", {}));
  ExpectSameAsOpenCv("grey", Encode(grey, ".png", {}));
  ExpectSameAsOpenCv("rgba16", Encode(deep, ".png", {}));
  ExpectSameAsOpenCv("grey16", Encode(deep_grey, ".png", {}));
  ExpectSameAsOpenCv("binary", Encode(grey, ".png", {cv::IMWRITE_PNG_BILEVEL, 1}));
  ExpectSameAsOpenCv("jpeg_grey", Encode(grey, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}));
  ExpectSameAsOpenCv("jpeg_progressive", Encode(bgr, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
}

TEST(DecodeImageTest, PngCutAfterItsImageDataOrWithABadCrcIsRefused) {
  cv::Mat bgr(20, 30, CV_8UC3, cv::Scalar(10, 200, 30));
  const std::string png = Encode(bgr, ".png", {});
  // Without IEND (the last 12 bytes): the image data is complete, the file is not.
  ExpectInvalid(DecodeImage(png.substr(0, png.size() - 12)), "could not be decoded");
  // A flipped byte inside IDAT's compressed data breaks its CRC.
  std::string bad = png;
  const size_t idat = bad.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  bad[idat + 6] = static_cast<char>(bad[idat + 6] ^ 0x55);
  ExpectInvalid(DecodeImage(bad), "could not be decoded");
}

TEST(EncodeTest, PngOfEveryLayoutDecodesBackExactly) {
  cv::Mat rgba(31, 45, CV_8UC4);
  cv::randu(rgba, 0, 256);
  Image image{rgba};
  Result<std::string> png = EncodePng(image, 6);
  ASSERT_TRUE(png.ok()) << png.status().message();
  Image back = MustDecode(*png);
  EXPECT_EQ(cv::norm(back.pixels, rgba, cv::NORM_INF), 0.0);
  // A view with a row step wider than its pixels (a region of a larger image).
  Image region{rgba(cv::Rect(3, 4, 20, 10))};
  Result<std::string> part = EncodePng(region, 1);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(cv::norm(MustDecode(*part).pixels, rgba(cv::Rect(3, 4, 20, 10)), cv::NORM_INF), 0.0);
  Mask mask{cv::Mat(8, 9, CV_32FC1, cv::Scalar(0.5))};
  Result<std::string> grey = EncodeMaskPng(mask, 3);
  ASSERT_TRUE(grey.ok());
  EXPECT_EQ(MustDecode(*grey).pixels.at<cv::Vec3b>(2, 2), cv::Vec3b(128, 128, 128));
  Result<std::string> jpeg = EncodeJpeg(image, 95);  // alpha dropped
  ASSERT_TRUE(jpeg.ok());
  EXPECT_EQ(MustDecode(*jpeg).pixels.type(), CV_8UC3);
}

// Checks a PNG's chunks by hand: every CRC-32, and the IDAT data as one zlib stream whose
// Adler-32 matches (libpng only warns about a bad one, and OpenCV reads through libpng).
// Returns the inflated bytes (filter type + row, per row).
std::string CheckedImageData(const std::string& png) {
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<uint8_t>(png[at])) << 24 |
           static_cast<uint32_t>(static_cast<uint8_t>(png[at + 1])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(png[at + 2])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(png[at + 3]));
  };
  std::string idat;
  uint32_t width = 0, height = 0;
  int channels = 0;
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t length = be32(at);
    const std::string type = png.substr(at + 4, 4);
    EXPECT_LE(at + 12 + length, png.size());
    const uint32_t crc = static_cast<uint32_t>(crc32(
        0, reinterpret_cast<const Bytef*>(png.data() + at + 4), static_cast<uInt>(4 + length)));
    EXPECT_EQ(be32(at + 8 + length), crc) << type << " chunk's CRC";
    if (type == "IHDR") {
      width = be32(at + 8);
      height = be32(at + 12);
      const int color = png[at + 17];
      channels = color == 0 ? 1 : color == 2 ? 3 : 4;
    }
    if (type == "IDAT") idat += png.substr(at + 8, length);
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size()) << "bytes after the last chunk";
  std::string raw(static_cast<size_t>(height) * (static_cast<size_t>(width) * channels + 1), '\0');
  uLongf got = raw.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &got,
                       reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
            Z_OK)
      << "the IDAT data is not one good zlib stream (header, data, Adler-32)";
  EXPECT_EQ(got, raw.size());
  return raw;
}

// The fast levels' own writer: its rows cut into parts deflated apart, then laid end to end.
// Read back by libpng (DecodeImage) and by OpenCV's decoder, for every layout, sizes down to
// one pixel, and more parts than rows; its chunks and zlib stream checked by hand.
TEST(EncodeTest, PngInPartsDecodesBackExactlyInBothDecoders) {
  cv::RNG rng(7);
  for (int channels : {1, 3, 4}) {
    for (cv::Size size :
         {cv::Size(1, 1), cv::Size(7, 1), cv::Size(1, 9), cv::Size(33, 17), cv::Size(300, 211)}) {
      cv::Mat px(size, CV_8UC(channels));
      rng.fill(px, cv::RNG::UNIFORM, 0, 256);
      // Runs and smooth parts too (what run-length matching finds in a cut-out).
      px(cv::Rect(0, 0, size.width, size.height / 2)).setTo(cv::Scalar::all(0));
      for (int parts : {1, 2, 3, 64}) {
        internal::PixelRows rows{px.data, px.cols, px.rows, channels, px.step};
        Result<std::string> png = internal::EncodePngInParts(rows, 2, parts);
        ASSERT_TRUE(png.ok()) << png.status().message();
        const std::string what = std::to_string(channels) + " channels, " +
                                 std::to_string(size.width) + "x" + std::to_string(size.height) +
                                 ", " + std::to_string(parts) + " parts";
        SCOPED_TRACE(what);
        CheckedImageData(*png);
        Image back = MustDecode(*png);
        cv::Mat want = px;
        if (channels == 1) cv::cvtColor(px, want, cv::COLOR_GRAY2RGB);
        EXPECT_EQ(cv::norm(back.pixels, want, cv::NORM_INF), 0.0) << what;
        cv::Mat theirs = cv::imdecode(
            cv::Mat(1, static_cast<int>(png->size()), CV_8U, const_cast<char*>(png->data())),
            cv::IMREAD_UNCHANGED);
        ASSERT_FALSE(theirs.empty()) << what;
        if (channels == 3) cv::cvtColor(theirs, theirs, cv::COLOR_BGR2RGB);
        if (channels == 4) cv::cvtColor(theirs, theirs, cv::COLOR_BGRA2RGBA);
        EXPECT_EQ(cv::norm(theirs, px, cv::NORM_INF), 0.0) << what;
      }
    }
  }
  internal::PixelRows none{nullptr, 0, 0, 4, 0};
  EXPECT_FALSE(internal::EncodePngInParts(none, 2, 2).ok());
  // Over 1 GiB of rows (zlib counts in 32 bits): refused before a byte is read.
  uint8_t one_pixel[4] = {};
  internal::PixelRows huge{one_pixel, 1 << 16, 1 << 15, 4, size_t{1} << 18};
  Result<std::string> refused = internal::EncodePngInParts(huge, 2, 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
}

// On a real cut-out, parts cost next to nothing in size.
TEST(EncodeTest, PngInPartsIsAboutAsSmallAsOneStream) {
  Image image = MustDecode(ReadFile(SamplePath("astronaut.png")));
  internal::PixelRows rows{image.pixels.data, image.width(), image.height(),
                           image.pixels.channels(), image.pixels.step};
  Result<std::string> one = internal::EncodePngInParts(rows, 3, 1);
  Result<std::string> two = internal::EncodePngInParts(rows, 3, 2);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_LT(static_cast<double>(two->size()), 1.01 * static_cast<double>(one->size()));
  EXPECT_EQ(cv::norm(MustDecode(*two).pixels, image.pixels, cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace sparkify::vision
