// JPEG through libjpeg-turbo's libjpeg API. libjpeg reports fatal errors through error_exit,
// which must not return: ours longjmps back to the setjmp in the function that called into the
// library. Between the two there are only libjpeg's C frames, and the state the error path
// needs lives in a heap object reached through a pointer that does not change after setjmp.
#include <csetjmp>
#include <cstddef>
#include <cstdio>  // jpeglib.h needs size_t and FILE declared first
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include <jpeglib.h>
#include <opencv2/core.hpp>

#include "vision/internal/codecs.h"

namespace sparkify::vision::internal {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (corrupt data libjpeg recovers from) are not printed to our stderr.
void OnOutput(j_common_ptr /*cinfo*/) {}

void InitErrors(ErrorManager& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.output_message = OnOutput;
  err.message[0] = '\0';
}

struct Decoder {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  bool created = false;
  cv::Mat pixels;  // RGB, or CMYK before conversion
  ~Decoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Adobe writes CMYK inverted (0 = full ink); others store it straight. Either way R is what
// cyan and black leave of white.
cv::Mat CmykToRgb(const cv::Mat& cmyk, bool inverted) {
  cv::Mat rgb(cmyk.rows, cmyk.cols, CV_8UC3);
  for (int y = 0; y < cmyk.rows; ++y) {
    const uint8_t* in = cmyk.ptr<uint8_t>(y);
    uint8_t* out = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < cmyk.cols; ++x, in += 4, out += 3) {
      const int k = inverted ? in[3] : 255 - in[3];
      for (int c = 0; c < 3; ++c) {
        const int ink = inverted ? in[c] : 255 - in[c];
        out[c] = static_cast<uint8_t>((ink * k + 127) / 255);
      }
    }
  }
  return rgb;
}

// The decoding proper; returns false after a libjpeg error (message in d.err.message).
bool Run(Decoder& d, std::string_view bytes, const ImageHeader& header, int scale_denom, bool& cmyk,
         bool& size_mismatch) {
  jpeg_decompress_struct& cinfo = d.cinfo;
  if (setjmp(d.err.jump) != 0) return false;
  jpeg_create_decompress(&cinfo);
  d.created = true;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.scale_num = 1;
  cinfo.scale_denom = static_cast<unsigned>(scale_denom);
  jpeg_start_decompress(&cinfo);
  const auto scaled = [scale_denom](uint32_t side) {
    return (side + static_cast<uint32_t>(scale_denom) - 1) / static_cast<uint32_t>(scale_denom);
  };
  if (cinfo.output_width != scaled(header.width) || cinfo.output_height != scaled(header.height) ||
      cinfo.output_components != (cmyk ? 4 : 3)) {
    size_mismatch = true;
    return true;
  }
  d.pixels.create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width),
                  cmyk ? CV_8UC4 : CV_8UC3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = d.pixels.ptr<uint8_t>(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

struct Encoder {
  jpeg_compress_struct cinfo{};
  ErrorManager err{};
  bool created = false;
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  ~Encoder() {
    if (created) jpeg_destroy_compress(&cinfo);
    std::free(out);  // jpeg_mem_dest's buffer is malloc'ed, and ours to free
  }
};

bool Run(Encoder& e, const PixelRows& pixels, int quality) {
  jpeg_compress_struct& cinfo = e.cinfo;
  if (setjmp(e.err.jump) != 0) return false;
  jpeg_create_compress(&cinfo);
  e.created = true;
  jpeg_mem_dest(&cinfo, &e.out, &e.out_size);
  cinfo.image_width = static_cast<JDIMENSION>(pixels.width);
  cinfo.image_height = static_cast<JDIMENSION>(pixels.height);
  cinfo.input_components = pixels.channels;
  cinfo.in_color_space = pixels.channels == 4 ? JCS_EXT_RGBX : JCS_RGB;  // X: alpha skipped
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    // libjpeg's API takes non-const rows but only reads them.
    auto* row = const_cast<JSAMPROW>(  // NOLINT(cppcoreguidelines-pro-type-const-cast)
        pixels.data + pixels.step * cinfo.next_scanline);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}

}  // namespace

Result<cv::Mat> DecodeJpeg(std::string_view bytes, const ImageHeader& header, int scale_denom) {
  try {
    auto decoder = std::make_unique<Decoder>();
    InitErrors(decoder->err);
    decoder->cinfo.err = &decoder->err.pub;
    bool cmyk = false;
    bool size_mismatch = false;
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8) {
      return Status::InvalidArgument("JPEG scale must be 1/1, 1/2, 1/4 or 1/8");
    }
    if (!Run(*decoder, bytes, header, scale_denom, cmyk, size_mismatch)) {
      return Status::InvalidArgument(std::string("JPEG image could not be decoded: ") +
                                     decoder->err.message);
    }
    if (size_mismatch) {
      return Status::InvalidArgument(
          "JPEG image decodes to " + std::to_string(decoder->cinfo.output_width) + "x" +
          std::to_string(decoder->cinfo.output_height) + " px, not the header's " +
          std::to_string(header.width) + "x" + std::to_string(header.height));
    }
    if (cmyk) return CmykToRgb(decoder->pixels, decoder->cinfo.saw_Adobe_marker != 0);
    return decoder->pixels;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decoding the JPEG image");
  } catch (const cv::Exception& e) {
    return Status::ResourceExhausted(std::string("decoding the JPEG image: ") + e.what());
  }
}

Result<std::string> EncodeJpeg(const PixelRows& pixels, int quality) {
  if (pixels.channels != 3 && pixels.channels != 4) {
    return Status::InvalidArgument("JPEG encoding needs RGB or RGBA pixels");
  }
  try {
    auto encoder = std::make_unique<Encoder>();
    InitErrors(encoder->err);
    encoder->cinfo.err = &encoder->err.pub;
    if (!Run(*encoder, pixels, quality)) {
      return Status::Internal(std::string("JPEG encoding failed: ") + encoder->err.message);
    }
    return std::string(reinterpret_cast<const char*>(encoder->out), encoder->out_size);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory encoding a JPEG image");
  }
}

}  // namespace sparkify::vision::internal
