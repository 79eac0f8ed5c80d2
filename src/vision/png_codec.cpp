// PNG through libpng. libpng reports fatal errors by longjmp to the png_jmpbuf of the read or
// write struct: the setjmp is in Run, which calls only libpng between it and the jump, and
// the state the error path needs lives in a heap object reached through an unchanging
// reference.
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <memory>
#include <new>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vision/internal/codecs.h"

namespace sparkify::vision::internal {
namespace {

struct Errors {
  std::string message;
};

[[noreturn]] void OnError(png_structp png, png_const_charp message) {
  static_cast<Errors*>(png_get_error_ptr(png))->message = message;
  png_longjmp(png, 1);
}

// Warnings (a bad CRC in an ancillary chunk, ...) are not printed to our stderr.
void OnWarning(png_structp /*png*/, png_const_charp /*message*/) {}

struct Source {
  std::string_view bytes;
  size_t at = 0;
};

void ReadFromMemory(png_structp png, png_bytep out, png_size_t length) {
  auto* src = static_cast<Source*>(png_get_io_ptr(png));
  if (length > src->bytes.size() - src->at) png_error(png, "the data ends early (truncated)");
  std::memcpy(out, src->bytes.data() + src->at, length);
  src->at += length;
}

struct Decoder {
  Errors errors;
  Source source;
  png_structp png = nullptr;
  png_infop info = nullptr;
  cv::Mat pixels;
  std::vector<png_bytep> rows;
  ~Decoder() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

enum class Outcome { kDecoded, kLibpngError, kSizeMismatch };

Outcome Run(Decoder& d, const ImageHeader& header) {
  png_structp png = d.png;
  png_infop info = d.info;
  if (setjmp(png_jmpbuf(png)) != 0) return Outcome::kLibpngError;
  png_set_read_fn(png, &d.source, ReadFromMemory);
  png_set_user_limits(png, header.width, header.height);
  png_read_info(png, info);
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS) != 0) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_scale_16(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  const int channels = png_get_channels(png, info);
  if (width != header.width || height != header.height || (channels != 3 && channels != 4) ||
      png_get_rowbytes(png, info) != static_cast<size_t>(width) * channels) {
    return Outcome::kSizeMismatch;
  }
  d.pixels.create(static_cast<int>(height), static_cast<int>(width),
                  channels == 4 ? CV_8UC4 : CV_8UC3);
  d.rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) d.rows[y] = d.pixels.ptr<uint8_t>(static_cast<int>(y));
  png_read_image(png, d.rows.data());
  png_read_end(png, nullptr);  // the chunks after IDAT, to IEND: a cut file is refused
  return Outcome::kDecoded;
}

struct Encoder {
  Errors errors;
  std::string out;
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::vector<png_bytep> rows;
  ~Encoder() {
    if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  }
};

void WriteToString(png_structp png, png_bytep data, png_size_t length) {
  bool appended = false;
  try {
    static_cast<Encoder*>(png_get_io_ptr(png))
        ->out.append(reinterpret_cast<const char*>(data), length);
    appended = true;
  } catch (const std::bad_alloc&) {
    // No exception may cross libpng's C frames: fail through its own error path instead.
  }
  if (!appended) png_error(png, "out of memory");
}

void Flush(png_structp /*png*/) {}

bool Run(Encoder& e, const PixelRows& pixels, int compression) {
  png_structp png = e.png;
  png_infop info = e.info;
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_write_fn(png, &e, WriteToString, Flush);
  const int color = pixels.channels == 1   ? PNG_COLOR_TYPE_GRAY
                    : pixels.channels == 3 ? PNG_COLOR_TYPE_RGB
                                           : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, static_cast<png_uint_32>(pixels.width),
               static_cast<png_uint_32>(pixels.height), 8, color, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, compression);
  png_write_info(png, info);
  png_write_image(png, e.rows.data());
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

Result<cv::Mat> DecodePng(std::string_view bytes, const ImageHeader& header) {
  try {
    auto d = std::make_unique<Decoder>();
    d->source.bytes = bytes;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d->errors, OnError, OnWarning);
    if (d->png != nullptr) d->info = png_create_info_struct(d->png);
    if (d->png == nullptr || d->info == nullptr) {
      return Status::ResourceExhausted("out of memory decoding the PNG image");
    }
    switch (Run(*d, header)) {
      case Outcome::kLibpngError:
        return Status::InvalidArgument("PNG image could not be decoded: " + d->errors.message);
      case Outcome::kSizeMismatch:
        return Status::InvalidArgument("PNG image data does not match its header's " +
                                       std::to_string(header.width) + "x" +
                                       std::to_string(header.height) + " px");
      case Outcome::kDecoded:
        break;
    }
    return d->pixels;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decoding the PNG image");
  } catch (const cv::Exception& e) {
    return Status::ResourceExhausted(std::string("decoding the PNG image: ") + e.what());
  }
}

Result<std::string> EncodePng(const PixelRows& pixels, int compression) {
  if (pixels.channels != 1 && pixels.channels != 3 && pixels.channels != 4) {
    return Status::InvalidArgument("PNG encoding needs grey, RGB or RGBA pixels");
  }
  if (compression >= 1 && compression <= 3 && PngInPartsTakes(pixels)) {
    // The fast levels: the Paeth filter and run-length matches (on the samples' cut-outs 3x
    // faster than libpng's adaptive filters with zlib's level 3, and 2% larger), on two
    // threads where there is enough to share.
    const size_t bytes = static_cast<size_t>(pixels.width) * pixels.height * pixels.channels;
    return EncodePngInParts(pixels, compression, bytes >= (256u << 10) ? 2 : 1);
  }
  try {
    auto e = std::make_unique<Encoder>();
    e->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e->errors, OnError, OnWarning);
    if (e->png != nullptr) e->info = png_create_info_struct(e->png);
    if (e->png == nullptr || e->info == nullptr) {
      return Status::ResourceExhausted("out of memory encoding a PNG image");
    }
    e->rows.resize(static_cast<size_t>(pixels.height));
    for (int y = 0; y < pixels.height; ++y) {
      // libpng's API takes non-const rows but only reads them when writing.
      e->rows[y] = const_cast<png_bytep>(  // NOLINT(cppcoreguidelines-pro-type-const-cast)
          pixels.data + pixels.step * y);
    }
    // A PNG of w x h RGBA is rarely above its raw size; reserve that much once.
    e->out.reserve(static_cast<size_t>(pixels.height) * pixels.width * pixels.channels / 2);
    if (!Run(*e, pixels, std::clamp(compression, 0, 9))) {
      return Status::Internal("PNG encoding failed: " + e->errors.message);
    }
    return std::move(e->out);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory encoding a PNG image");
  }
}

}  // namespace sparkify::vision::internal
