#include "collage/image.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sparkify::collage {
namespace {

// One output column's (or row's) share of the source: contributions of consecutive source
// pixels starting at `first`, weights summing to 1.
struct Span {
  size_t first = 0;
  std::vector<double> weights;
};

// Output pixel o covers source [o*src/dst, (o+1)*src/dst). Counting in units of 1/dst source
// pixels keeps the overlaps exact integers: o covers [o*src, (o+1)*src), source s covers
// [s*dst, (s+1)*dst).
std::vector<Span> AreaSpans(int src, int dst) {
  const uint64_t s = static_cast<uint64_t>(src);
  const uint64_t d = static_cast<uint64_t>(dst);
  std::vector<Span> spans(static_cast<size_t>(dst));
  for (uint64_t o = 0; o < d; ++o) {
    const uint64_t begin = o * s;
    const uint64_t end = begin + s;
    Span& span = spans[o];
    span.first = begin / d;
    for (uint64_t p = span.first; p * d < end; ++p) {
      const uint64_t overlap = std::min(end, (p + 1) * d) - std::max(begin, p * d);
      span.weights.push_back(static_cast<double>(overlap) / static_cast<double>(s));
    }
  }
  return spans;
}

int ScaledSide(int side, int long_side, int max_side) {
  const double scaled = std::round(static_cast<double>(side) * max_side / long_side);
  return std::clamp(static_cast<int>(scaled), 1, max_side);
}

}  // namespace

int Channels(PixelFormat format) { return format == PixelFormat::kRgba ? 4 : 3; }

Status ValidateImage(const Image& image) {
  if (image.format != PixelFormat::kRgb && image.format != PixelFormat::kRgba) {
    return Status::InvalidArgument("image: unknown pixel format");
  }
  if (image.width < 1 || image.height < 1 || image.width > kMaxImageSide ||
      image.height > kMaxImageSide) {
    return Status::InvalidArgument("image: width and height must be in [1, " +
                                   std::to_string(kMaxImageSide) + "]");
  }
  const uint64_t expected = static_cast<uint64_t>(image.width) *
                            static_cast<uint64_t>(image.height) *
                            static_cast<uint64_t>(Channels(image.format));
  if (image.pixels.size() != expected) {
    return Status::InvalidArgument("image: expected " + std::to_string(expected) +
                                   " bytes of pixels, got " + std::to_string(image.pixels.size()));
  }
  return Status::OK();
}

Result<Image> Thumbnail(const Image& image, int max_side) {
  SPARKIFY_RETURN_IF_ERROR(ValidateImage(image));
  if (max_side < 1) return Status::InvalidArgument("thumbnail: max_side must be >= 1");
  const int long_side = std::max(image.width, image.height);
  if (long_side <= max_side) return image;

  const int out_w = ScaledSide(image.width, long_side, max_side);
  const int out_h = ScaledSide(image.height, long_side, max_side);
  const size_t ch = static_cast<size_t>(Channels(image.format));
  const bool alpha = image.format == PixelFormat::kRgba;
  const size_t in_w = static_cast<size_t>(image.width);
  const size_t ow = static_cast<size_t>(out_w);
  const size_t oh = static_cast<size_t>(out_h);

  // For each output row: the source rows it covers, each resampled horizontally and added
  // with its vertical weight (premultiplied by alpha when there is alpha). Memory: one row.
  const std::vector<Span> xs = AreaSpans(image.width, out_w);
  const std::vector<Span> ys = AreaSpans(image.height, out_h);
  Image result{out_w, out_h, image.format, std::vector<uint8_t>(ow * oh * ch)};
  std::vector<double> acc(ow * ch);
  for (size_t y = 0; y < oh; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t ty = 0; ty < ys[y].weights.size(); ++ty) {
      const uint8_t* in = &image.pixels[(ys[y].first + ty) * in_w * ch];
      const double wy = ys[y].weights[ty];
      for (size_t x = 0; x < ow; ++x) {
        double* out = &acc[x * ch];
        for (size_t tx = 0; tx < xs[x].weights.size(); ++tx) {
          const uint8_t* px = in + (xs[x].first + tx) * ch;
          const double w = wy * xs[x].weights[tx];
          const double a = alpha ? px[3] / 255.0 : 1.0;
          for (size_t c = 0; c < 3; ++c) out[c] += w * a * px[c];
          if (alpha) out[3] += w * px[3];
        }
      }
    }
    for (size_t x = 0; x < ow; ++x) {
      const double* in = &acc[x * ch];
      const double a = alpha ? in[3] / 255.0 : 1.0;
      uint8_t* out = &result.pixels[(y * ow + x) * ch];
      for (size_t c = 0; c < 3; ++c) {
        const double v = a > 0 ? in[c] / a : 0.0;
        out[c] = static_cast<uint8_t>(std::clamp(std::round(v), 0.0, 255.0));
      }
      if (alpha) out[3] = static_cast<uint8_t>(std::clamp(std::round(in[3]), 0.0, 255.0));
    }
  }
  return result;
}

}  // namespace sparkify::collage
