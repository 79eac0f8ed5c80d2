#include "vision/refine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

namespace sparkify::vision {
namespace {

constexpr float kConfident = 0.95f;

// The smooth step of `low`..`high`, in place.
void Harden(cv::Mat& a, float low, float high) {
  const float span = std::max(high - low, 1e-3f);
  for (int y = 0; y < a.rows; ++y) {
    float* p = a.ptr<float>(y);
    for (int x = 0; x < a.cols; ++x) {
      const float t = std::clamp((p[x] - low) / span, 0.0f, 1.0f);
      p[x] = t * t * (3 - 2 * t);
    }
  }
}

// The resolution divisor for a Gaussian blur of `sigma` pixels over `src`: a wide blur is
// computed at 1/f of the resolution, where its sigma is still 2+ pixels (smooth at that scale:
// the linear interpolation back up adds no visible step). Against the rule of 4+ pixels, on
// the samples' band pixels: a mean change of 0.16-0.2 of 255 per channel (0.86 on
// hubble_deep_field.jpg, whose band is thin wisps), and astronaut.png's edge colours in 3.0
// ms instead of 9.5. 1: the full resolution.
int BlurDivisor(const cv::Mat& src, double sigma) {
  const int f = static_cast<int>(sigma / 2);
  return f < 2 || src.cols < 2 * f || src.rows < 2 * f ? 1 : f;
}

// A Gaussian blur of `src` at 1/f of the resolution (f >= 2, BlurDivisor), left small: the
// caller reads it back by SampleLinear where it needs it. The averaging pre-filter widens sigma
// by about 1% (a box of f pixels adds a variance of (f^2 - 1) / 12, under sigma^2 / 48).
cv::Mat ScaledBlur(const cv::Mat& src, double sigma, int f) {
  cv::Mat small;
  cv::resize(src, small, cv::Size((src.cols + f - 1) / f, (src.rows + f - 1) / f), 0, 0,
             cv::INTER_AREA);
  cv::GaussianBlur(small, small, cv::Size(0, 0), sigma * small.cols / src.cols,
                   sigma * small.rows / src.rows);
  return small;
}

// The value of a small 4-channel float image at full-resolution pixel (x, y) of an image
// `cols` x `rows`, interpolated as cv::resize's INTER_LINEAR places pixel centres.
cv::Vec4f SampleLinear(const cv::Mat& small, int x, int y, int cols, int rows) {
  auto axis = [](int i, int full, int n, int& i0, int& i1, float& t) {
    const float s = std::max(
        (static_cast<float>(i) + 0.5f) * static_cast<float>(n) / static_cast<float>(full) - 0.5f,
        0.0f);
    i0 = std::min(static_cast<int>(s), n - 1);
    i1 = std::min(i0 + 1, n - 1);
    t = s - static_cast<float>(i0);
    if (i0 == i1) t = 0;
  };
  int x0, x1, y0, y1;
  float tx, ty;
  axis(x, cols, small.cols, x0, x1, tx);
  axis(y, rows, small.rows, y0, y1, ty);
  const cv::Vec4f* r0 = small.ptr<cv::Vec4f>(y0);
  const cv::Vec4f* r1 = small.ptr<cv::Vec4f>(y1);
  const cv::Vec4f top = r0[x0] * (1 - tx) + r0[x1] * tx;
  const cv::Vec4f bottom = r1[x0] * (1 - tx) + r1[x1] * tx;
  return top * (1 - ty) + bottom * ty;
}

// Mean colours of a photo's marked pixels over boxes, from sums over the rectangles from the
// origin (summed-area tables): each box in constant time, however many holes there are
// (rocket.jpg's gantry has ~300). Over cells of f x f pixels, f such that there are at most
// 2^16 of them (2 MB, whatever the photo's size; f = 2 at 512 x 512), a box taken as the cells
// it touches: a mean colour does not need the pixel. Building one takes ~1 ms at 512 x 512.
class BoxMeans {
 public:
  // `image`: 8-bit RGB or RGBA; `where`: 8-bit, non-zero where a pixel counts.
  BoxMeans(const cv::Mat& image, const cv::Mat& where) {
    constexpr double kMostCells = 1 << 16;
    f_ = std::max(1, static_cast<int>(std::ceil(std::sqrt(image.total() / kMostCells))));
    const int cols = (image.cols + f_ - 1) / f_, rows = (image.rows + f_ - 1) / f_;
    // (r, g, b, count) of the marked pixels above and left of each cell corner.
    table_ = cv::Mat::zeros(rows + 1, cols + 1, CV_64FC4);
    const int channels = image.channels();
    for (int y = 0; y < image.rows; ++y) {
      const uint8_t* c = image.ptr<uint8_t>(y);
      const uint8_t* w = where.ptr<uint8_t>(y);
      cv::Vec4d* cell = table_.ptr<cv::Vec4d>(y / f_ + 1) + 1;
      for (int x0 = 0; x0 < image.cols; x0 += f_, ++cell) {  // cell by cell along the row
        const int x1 = std::min(x0 + f_, image.cols);
        int r = 0, g = 0, b = 0, n = 0;
        for (int x = x0; x < x1; ++x, c += channels) {
          const int on = w[x] != 0;
          r += on * c[0], g += on * c[1], b += on * c[2], n += on;
        }
        *cell += cv::Vec4d(r, g, b, n);
      }
    }
    for (int y = 1; y <= rows; ++y) {
      const cv::Vec4d* above = table_.ptr<cv::Vec4d>(y - 1);
      cv::Vec4d* row = table_.ptr<cv::Vec4d>(y);
      cv::Vec4d left(0, 0, 0, 0);
      for (int x = 1; x <= cols; ++x) {
        left += row[x];
        row[x] = left + above[x];
      }
    }
  }

  // The mean colour of the marked pixels in `box` (clipped to the image), or false if none.
  bool Mean(cv::Rect box, cv::Vec3d* mean) const {
    const int x0 = std::max(box.x, 0) / f_, y0 = std::max(box.y, 0) / f_;
    const int x1 = std::min((box.x + box.width + f_ - 1) / f_, table_.cols - 1);
    const int y1 = std::min((box.y + box.height + f_ - 1) / f_, table_.rows - 1);
    if (x1 <= x0 || y1 <= y0) return false;
    const cv::Vec4d sum = table_.at<cv::Vec4d>(y1, x1) - table_.at<cv::Vec4d>(y0, x1) -
                          table_.at<cv::Vec4d>(y1, x0) + table_.at<cv::Vec4d>(y0, x0);
    if (sum[3] < 0.5) return false;
    *mean = cv::Vec3d(sum[0], sum[1], sum[2]) / sum[3];
    return true;
  }

 private:
  int f_ = 1;
  cv::Mat table_;
};

cv::Rect Grown(cv::Rect box, int by) {
  return {box.x - by, box.y - by, box.width + 2 * by, box.height + 2 * by};
}

// Fills the subject's small holes: 4-connected background components of the hardened mask
// `a` that do not touch the image's edge and are smaller than `max_hole` of the subject.
// Given the photo (`image`, 8-bit RGB or RGBA; or empty), a hole stays open where the model
// is sure of it and the photo agrees that it shows what is behind the subject:
//   - at least half of its pixels are below the hardening's `low` (0 in `a`);
//   - its mean colour is nearer that of the open background near it (the background
//     components that are not holes, in its box grown by a tenth of the image's longer side,
//     or by the box's own longer side if more) than that of the subject around it (in its
//     box grown by `ring` pixels).
// The model's mask can close a gap between two limbs whose ends touch at its resolution (the
// horse's front legs at 320, the legs of the cameraman's tripod at 1024), and a filled gap is
// a sliver of the old background in the cut-out. Both tests, since each alone misleads: at
// 320 the white stroke of logo.png's "S" is a hole of the background's colour (white) with
// only 35% of it below `low` (the horse's gap 76%, the tripod's at 1024 73-88%); and a hole
// of the subject's own colour is a hole the model left in it.
void FillHoles(cv::Mat& a, double max_hole, const cv::Mat& image, int ring) {
  cv::Mat subject = a >= 0.5f;
  const int64_t area = cv::countNonZero(subject);
  cv::Mat labels, stats, centroids;
  int h = cv::connectedComponentsWithStats(subject == 0, labels, stats, centroids, 4, CV_32S);
  std::vector<uint8_t> fill(static_cast<size_t>(h), 0);
  for (int i = 1; i < h; ++i) {
    const int x = stats.at<int>(i, cv::CC_STAT_LEFT), y = stats.at<int>(i, cv::CC_STAT_TOP);
    const int w = stats.at<int>(i, cv::CC_STAT_WIDTH), ht = stats.at<int>(i, cv::CC_STAT_HEIGHT);
    const bool touches_edge = x == 0 || y == 0 || x + w == a.cols || y + ht == a.rows;
    fill[static_cast<size_t>(i)] =
        !touches_edge && stats.at<int>(i, cv::CC_STAT_AREA) < max_hole * area;
  }
  if (!image.empty()) {
    std::vector<int> sure(static_cast<size_t>(h), 0);       // each hole's pixels at 0
    std::vector<cv::Vec3d> colour(static_cast<size_t>(h));  // and the sum of their colours
    cv::Mat open(a.size(), CV_8U);                          // the background that is not a hole
    const int channels = image.channels();
    for (int y = 0; y < a.rows; ++y) {
      const float* p = a.ptr<float>(y);
      const int* l = labels.ptr<int>(y);
      const uint8_t* c = image.ptr<uint8_t>(y);
      uint8_t* o = open.ptr<uint8_t>(y);
      for (int x = 0; x < a.cols; ++x, c += channels) {
        const size_t k = static_cast<size_t>(l[x]);
        if (fill[k]) {
          sure[k] += p[x] == 0;
          colour[k] += cv::Vec3d(c[0], c[1], c[2]);
        }
        o[x] = l[x] > 0 && !fill[k] ? 255 : 0;
      }
    }
    std::vector<int> sure_holes;  // the holes the model is sure of
    for (int i = 1; i < h; ++i) {
      const size_t k = static_cast<size_t>(i);
      if (fill[k] && 2 * sure[k] >= stats.at<int>(i, cv::CC_STAT_AREA)) sure_holes.push_back(i);
    }
    if (!sure_holes.empty()) {
      const BoxMeans subjects(image, subject), behind(image, open);
      const int reach = std::max(a.cols, a.rows) / 10;
      for (int i : sure_holes) {
        const cv::Rect box(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                           stats.at<int>(i, cv::CC_STAT_WIDTH),
                           stats.at<int>(i, cv::CC_STAT_HEIGHT));
        const cv::Vec3d hole = colour[static_cast<size_t>(i)] / stats.at<int>(i, cv::CC_STAT_AREA);
        cv::Vec3d around, back;
        if (subjects.Mean(Grown(box, ring), &around) &&
            behind.Mean(Grown(box, std::max(reach, std::max(box.width, box.height))), &back)) {
          fill[static_cast<size_t>(i)] = cv::norm(hole - back) >= cv::norm(hole - around);
        }
      }
    }
  }
  for (int y = 0; y < a.rows; ++y) {
    float* p = a.ptr<float>(y);
    const int* l = labels.ptr<int>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (l[x] > 0 && fill[static_cast<size_t>(l[x])]) p[x] = 1;
    }
  }
}

// Removes small islands of the subject, judged on the subject opened by `bridge` pixels, so
// that a blob hanging on by a few whiskers counts as an island.
void DropIslands(cv::Mat& a, double min_island, int bridge) {
  cv::Mat subject = a >= 0.5f;
  const cv::Mat kernel =
      cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * bridge + 1, 2 * bridge + 1));
  cv::Mat core;
  cv::erode(subject, core, kernel);
  cv::Mat labels, stats, centroids;
  int n = cv::connectedComponentsWithStats(core, labels, stats, centroids, 8, CV_32S);
  int largest = 0;
  for (int i = 1; i < n; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
  if (largest == 0) return;  // too thin to erode: judge nothing
  std::vector<uint8_t> keep(static_cast<size_t>(n), 0);
  for (int i = 1; i < n; ++i) {
    keep[static_cast<size_t>(i)] = stats.at<int>(i, cv::CC_STAT_AREA) >= min_island * largest;
  }
  cv::Mat kept = cv::Mat::zeros(a.size(), CV_8U);
  for (int y = 0; y < a.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    uint8_t* k = kept.ptr<uint8_t>(y);
    for (int x = 0; x < a.cols; ++x) k[x] = keep[static_cast<size_t>(l[x])] ? 255 : 0;
  }
  // Back to the subject's own outline: what the kept cores grow into, within the subject.
  cv::dilate(kept, kept, kernel);
  a.setTo(0.0f, (kept == 0) & subject);
}

// Half-certain pixels (alpha between 0 and 1 after hardening) farther than `reach` from any
// certain one (alpha 1) go: a half-certain blob beside the subject, joined to it by more
// half-certain pixels, is not part of it; fog inside the subject is near certain pixels.
void DropUncertainOutgrowths(cv::Mat& a, int reach) {
  cv::Mat certain = a >= 0.999f;
  if (cv::countNonZero(certain) == 0) return;
  cv::Mat near;
  cv::dilate(certain, near,
             cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * reach + 1, 2 * reach + 1)));
  a.setTo(0.0f, near == 0);
}

// The edge band: fully opaque more than `band` pixels inside the subject (no fog left in its
// body), fully transparent more than `band` outside it (no halo, no rim of a dropped speck).
void Band(cv::Mat& a, int band) {
  cv::Mat subject = a >= 0.5f;
  const cv::Mat kernel =
      cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * band + 1, 2 * band + 1));
  cv::Mat inner, outer;
  cv::erode(subject, inner, kernel);
  cv::dilate(subject, outer, kernel);
  a.setTo(1.0f, inner);
  a.setTo(0.0f, outer == 0);
}

}  // namespace

Mask RefineMask(const Mask& raw, const RefineOptions& options, const Image* image) {
  Mask out;
  if (raw.alpha.empty() || raw.alpha.type() != CV_32FC1) return out;
  const bool colours = image != nullptr && image->pixels.size() == raw.alpha.size() &&
                       image->pixels.depth() == CV_8U &&
                       (image->pixels.channels() == 3 || image->pixels.channels() == 4);
  cv::Mat a = raw.alpha.clone();
  Harden(a, options.low, options.high);
  const int side = std::max(a.cols, a.rows);
  const int band = std::max(2, side / 300);
  FillHoles(a, options.max_hole, colours ? image->pixels : cv::Mat(), band);
  DropIslands(a, options.min_island, band);
  DropUncertainOutgrowths(a, 3 * band);
  Band(a, band);
  const double sigma = options.feather > 0
                           ? options.feather
                           : std::max(0.7, side / 700.0);
  cv::GaussianBlur(a, a, cv::Size(0, 0), sigma);
  cv::min(cv::max(a, 0.0f), 1.0f, out.alpha);
  return out;
}

Result<Image> DecontaminateEdges(const Image& image, const Mask& alpha) {
  if (image.pixels.empty() || image.pixels.depth() != CV_8U ||
      (image.pixels.channels() != 3 && image.pixels.channels() != 4)) {
    return Status::InvalidArgument("edge colours need an 8-bit RGB or RGBA image");
  }
  if (alpha.alpha.type() != CV_32FC1 || alpha.width() != image.width() ||
      alpha.height() != image.height()) {
    return Status::InvalidArgument("edge colours need a float mask of the image's size");
  }
  const int channels = image.pixels.channels();
  // The confident subject's colours and their weight, side by side (one blur each, not two):
  // (r w, g w, b w, w), w = 1 where alpha >= kConfident, else 0. And the rows of the band.
  cv::Mat weighted(image.pixels.size(), CV_32FC4);
  int64_t confident = 0;
  int band_first = weighted.rows, band_end = 0;
  for (int y = 0; y < weighted.rows; ++y) {
    const float* a = alpha.alpha.ptr<float>(y);
    const uint8_t* p = image.pixels.ptr<uint8_t>(y);
    cv::Vec4f* w = weighted.ptr<cv::Vec4f>(y);
    bool band = false;
    for (int x = 0; x < weighted.cols; ++x, p += channels) {
      const bool in = a[x] >= kConfident;
      confident += in;
      band |= a[x] > 0 && !in;
      w[x] = in ? cv::Vec4f(p[0], p[1], p[2], 1) : cv::Vec4f(0, 0, 0, 0);
    }
    if (band) {
      band_first = std::min(band_first, y);
      band_end = y + 1;
    }
  }
  if (confident == 0 || band_end == 0) {  // nothing to change: a copy, as the other answers
    Image same;
    same.pixels = image.pixels.clone();
    return same;
  }

  // The band's colours from the nearest confident subject: small radius first, larger where
  // the small one finds nothing. Each radius is one 4-channel blur, computed only where it is
  // read: at full resolution over the band's rows (a range of rows of a matrix reads the rows
  // beyond it as its border: the floats of one blur over the whole image), or at 1/f of the
  // resolution, read back at the band's pixels only (BlurDivisor). The blurs are independent
  // and the CPUs share them (the model's threads are idle by now); OpenCV runs a float
  // Gaussian on one thread, so a full-resolution one is cut into stripes of rows. On 2 cores
  // (Zen 3), against three whole-image blurs brought back to full size (buffers reused
  // between calls, as the function worker does): astronaut.png (512x512) 9.7 -> 2.9 ms,
  // hubble_deep_field.jpg (1000x872) 17 -> 7.3 ms.
  const double side = std::max(image.width(), image.height());
  const double sigmas[] = {std::max(1.5, side / 400), std::max(4.0, side / 120), side / 30};
  int divisors[3];
  cv::Mat levels[3];  // divisor 1: the band's rows, from band_first; else the small image
  struct Task {
    int level;
    int first, end;  // rows of a full-resolution stripe
  };
  std::vector<Task> tasks;
  const int band_rows = band_end - band_first;
  const int stripes = std::max(1, std::min(cv::getNumThreads(), band_rows / 64));
  for (int i = 0; i < 3; ++i) {
    divisors[i] = BlurDivisor(weighted, sigmas[i]);
    if (divisors[i] > 1) {
      tasks.push_back({i, 0, 0});
      continue;
    }
    levels[i].create(band_rows, weighted.cols, weighted.type());
    for (int s = 0; s < stripes; ++s) {
      tasks.push_back(
          {i, band_first + band_rows * s / stripes, band_first + band_rows * (s + 1) / stripes});
    }
  }
  cv::parallel_for_(cv::Range(0, static_cast<int>(tasks.size())), [&](const cv::Range& r) {
    for (int t = r.start; t < r.end; ++t) {
      const Task& task = tasks[static_cast<size_t>(t)];
      const double sigma = sigmas[task.level];
      if (divisors[task.level] > 1) {
        levels[task.level] = ScaledBlur(weighted, sigma, divisors[task.level]);
        continue;
      }
      cv::Mat stripe = levels[task.level].rowRange(task.first - band_first, task.end - band_first);
      cv::GaussianBlur(weighted.rowRange(task.first, task.end), stripe, cv::Size(0, 0), sigma);
    }
  });
  Image out;
  out.pixels = image.pixels.clone();
  for (int y = band_first; y < band_end; ++y) {
    const float* a = alpha.alpha.ptr<float>(y);
    uint8_t* p = out.pixels.ptr<uint8_t>(y);
    for (int x = 0; x < out.pixels.cols; ++x, p += channels) {
      if (!(a[x] > 0 && a[x] < kConfident)) continue;  // the band, as found above
      for (int i = 0; i < 3; ++i) {
        const cv::Vec4f e = divisors[i] > 1
                                ? SampleLinear(levels[i], x, y, out.pixels.cols, out.pixels.rows)
                                : levels[i].at<cv::Vec4f>(y - band_first, x);
        if (e[3] < 0.02f) continue;
        for (int k = 0; k < 3; ++k) p[k] = cv::saturate_cast<uint8_t>(e[k] / e[3]);
        break;
      }
    }
  }
  return out;
}

}  // namespace sparkify::vision
