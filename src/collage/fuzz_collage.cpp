// libFuzzer target: arbitrary bytes -> a small RGB/RGBA image -> its palette and thumbnail,
// and -> covers with byte-made palettes (the first one the image's) -> SelectCollage with
// byte-made options. Every OK result is checked against the documented invariants; a
// violation traps.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collage/collage.h"

using sparkify::Result;
using namespace sparkify::collage;  // NOLINT: a fuzz driver

namespace {

// Reads bytes front to back; zeros once the input is exhausted.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Next() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckPalette(const Palette& p, int clusters) {
  Check(!p.empty() && p.size() <= static_cast<size_t>(clusters));
  Check(ValidatePalette(p).ok());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sum += p[i].share;
    if (i > 0) Check(p[i - 1].share >= p[i].share);
  }
  Check(std::abs(sum - 1.0) <= 0.005 * double(p.size()) + 1e-9);
}

void CheckCollage(const Collage& c, size_t covers, const SelectionOptions& o) {
  const size_t n = std::min(covers, o.collage_size);
  Check(c.covers.size() == n);
  Check(c.complementary == Complementary(c.dominant));
  Check(!c.predominant.empty() && c.predominant.size() <= size_t(o.predominant_colors));
  Check(std::any_of(c.predominant.begin(), c.predominant.end(),
                    [&](const PredominantColor& p) { return p.color == c.dominant; }));
  std::vector<int> positions;
  size_t cut = 0;
  for (size_t i = 0; i < n; ++i) {
    const ChosenCover& cc = c.covers[i];
    Check(cc.score >= 0 && cc.score <= cc.distance + 1e-9);
    if (i > 0) Check(c.covers[i - 1].score <= cc.score);
    Check(cc.cut_out == (cc.shuffle_position < std::llround(o.cut_out_fraction * double(n))));
    positions.push_back(cc.shuffle_position);
    cut += cc.cut_out;
  }
  std::sort(positions.begin(), positions.end());
  for (size_t i = 0; i < n; ++i) Check(positions[i] == int(i));
  Check(cut == size_t(std::llround(o.cut_out_fraction * double(n))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  Image image;
  image.width = 1 + in.Next() % 24;
  image.height = 1 + in.Next() % 24;
  image.format = in.Next() & 1 ? PixelFormat::kRgba : PixelFormat::kRgb;
  PaletteOptions po;
  po.clusters = 1 + in.Next() % 12;
  po.seed = in.Next();
  const size_t bytes = size_t(image.width) * size_t(image.height) * size_t(Channels(image.format));
  for (size_t i = 0; i < bytes; ++i) image.pixels.push_back(in.Next());

  Result<Palette> palette = ComputePalette(image, po);
  if (palette.ok()) CheckPalette(*palette, po.clusters);
  Result<Image> thumb = Thumbnail(image, 1 + in.Next() % 24);
  Check(thumb.ok() && ValidateImage(*thumb).ok() && thumb->format == image.format);
  Check(std::max(thumb->width, thumb->height) <= std::max(image.width, image.height));

  std::vector<Cover> covers;
  const size_t count = in.Next() % 40;
  for (size_t i = 0; i < count; ++i) {
    Cover c;
    c.id = std::to_string(i);
    c.rank = int(in.Next()) - 8;  // a few negative ranks, which must be refused
    if (i == 0 && palette.ok()) {
      c.palette = *palette;
    } else {
      const int colours = in.Next() % 7;  // 0: an empty palette, which must be refused
      for (int k = 0; k < colours; ++k) {
        const Rgb rgb{in.Next(), in.Next(), in.Next()};
        c.palette.push_back({rgb, (in.Next() % 104) / 100.0});  // > 1 now and then
      }
    }
    covers.push_back(std::move(c));
  }
  SelectionOptions so;
  so.predominant_colors = 1 + in.Next() % 8;
  so.kmeans_seed = in.Next();
  so.shuffle_seed = in.Next();
  so.keep_closest = 1 + in.Next() % 15;
  so.collage_size = 1 + in.Next() % 15;  // sometimes above keep_closest: refused
  so.complementary_distance = in.Next();
  so.complementary_factor = in.Next() / 250.0;  // sometimes above 1: refused
  so.cut_out_fraction = in.Next() / 250.0;
  Result<Collage> selected = SelectCollage(covers, so);
  if (selected.ok()) CheckCollage(*selected, covers.size(), so);
  return 0;
}
