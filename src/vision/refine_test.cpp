// MaskQuality and the edge refinement on masks made for the test (crisp shapes, soft blobs,
// fog, frames, specks and holes, shapes over a textured background whose true alpha is known),
// and on the real model: the bundled logo's disk and a star over textures, whose true
// alpha is known.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "vision/mask_quality.h"
#include "vision/refine.h"
#include "vision/segmenter.h"
#include "vision/test_util.h"

namespace sparkify::vision {
namespace {

constexpr int kSide = 240;

// An antialiased disk (the "true" alpha of a subject).
Mask Disk(int side, double cx, double cy, double r) {
  Mask m;
  m.alpha = cv::Mat(side, side, CV_32F);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
      m.alpha.at<float>(y, x) = static_cast<float>(std::clamp(r - d + 0.5, 0.0, 1.0));
    }
  }
  return m;
}

// What the model gives for a subject of true alpha `truth`: a blurred edge, fog of `fog`
// inside, a faint halo of `halo` in a ring outside.
Mask ModelLike(const Mask& truth, double blur, float fog, float halo) {
  Mask m;
  cv::GaussianBlur(truth.alpha, m.alpha, cv::Size(0, 0), blur);
  cv::Mat ring;
  cv::GaussianBlur(truth.alpha, ring, cv::Size(0, 0), blur * 4);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> noise(0, 1);
  for (int y = 0; y < m.alpha.rows; ++y) {
    for (int x = 0; x < m.alpha.cols; ++x) {
      float& v = m.alpha.at<float>(y, x);
      const float t = truth.alpha.at<float>(y, x);
      if (t > 0.99f && noise(rng) < 0.3f) v -= fog * noise(rng);      // fog inside
      if (t < 0.01f) v += halo * ring.at<float>(y, x) * 2;            // halo outside
      v = std::clamp(v, 0.0f, 1.0f);
    }
  }
  return m;
}

double IoU(const Mask& a, const Mask& b) {
  int64_t both = 0, either = 0;
  for (int y = 0; y < a.alpha.rows; ++y) {
    for (int x = 0; x < a.alpha.cols; ++x) {
      bool fa = a.alpha.at<float>(y, x) >= 0.5f, fb = b.alpha.at<float>(y, x) >= 0.5f;
      both += fa && fb;
      either += fa || fb;
    }
  }
  return either ? static_cast<double>(both) / either : 1.0;
}

// Mean alpha of `m` over the pixels 3..8 px outside the true subject: the halo.
double Halo(const Mask& truth, const Mask& m) {
  cv::Mat outside = truth.alpha < 0.01f;
  cv::Mat dist;
  cv::distanceTransform(outside, dist, cv::DIST_L2, 3);
  double sum = 0;
  int n = 0;
  for (int y = 0; y < dist.rows; ++y) {
    for (int x = 0; x < dist.cols; ++x) {
      float d = dist.at<float>(y, x);
      if (d >= 3 && d <= 8) {
        sum += m.alpha.at<float>(y, x);
        ++n;
      }
    }
  }
  return n ? sum / n : 0;
}

// Mean alpha inside the true subject, away from its edge.
double Interior(const Mask& truth, const Mask& m) {
  cv::Mat inside = truth.alpha > 0.99f;
  cv::Mat dist;
  cv::distanceTransform(inside, dist, cv::DIST_L2, 3);
  double sum = 0;
  int n = 0;
  for (int y = 0; y < dist.rows; ++y) {
    for (int x = 0; x < dist.cols; ++x) {
      if (dist.at<float>(y, x) >= 4) {
        sum += m.alpha.at<float>(y, x);
        ++n;
      }
    }
  }
  return n ? sum / n : 0;
}

TEST(MaskQualityTest, CrispShapesAreSubjects) {
  MaskQuality q = ScoreMask(Disk(kSide, 120, 120, 60));
  EXPECT_GT(q.confidence, 0.9);
  EXPECT_NEAR(q.area, 3.14159 * 60 * 60 / (kSide * kSide), 0.01);
  EXPECT_EQ(q.connectedness, 1.0);
  EXPECT_EQ(q.border, 0.0);
  EXPECT_TRUE(q.subject) << q.score;
  // A subject cut off by the bottom edge (a portrait) is still one.
  EXPECT_TRUE(ScoreMask(Disk(kSide, 120, 230, 90)).subject);
}

TEST(MaskQualityTest, SoftBlobsAndFogAreNot) {
  Mask blob;
  cv::GaussianBlur(Disk(kSide, 120, 120, 50).alpha, blob.alpha, cv::Size(0, 0), 25);
  cv::normalize(blob.alpha, blob.alpha, 0, 1, cv::NORM_MINMAX);
  MaskQuality q = ScoreMask(blob);
  EXPECT_LT(q.confidence, 0.6);
  EXPECT_FALSE(q.subject) << q.score;
  Mask fog;  // a translucent wash over everything
  fog.alpha = cv::Mat(kSide, kSide, CV_32F, cv::Scalar(0.45f));
  fog.alpha(cv::Rect(40, 40, 100, 100)) = 0.6f;
  EXPECT_FALSE(ScoreMask(fog).subject);
}

TEST(MaskQualityTest, FramesSpecksAndWholeCoversAreNot) {
  Mask frame;
  frame.alpha = cv::Mat(kSide, kSide, CV_32F, cv::Scalar(1.0f));
  frame.alpha(cv::Rect(20, 20, kSide - 40, kSide - 40)) = 0.0f;
  MaskQuality f = ScoreMask(frame);
  EXPECT_EQ(f.border, 1.0);
  EXPECT_FALSE(f.subject);
  Mask whole;
  whole.alpha = cv::Mat(kSide, kSide, CV_32F, cv::Scalar(1.0f));
  EXPECT_FALSE(ScoreMask(whole).subject);
  EXPECT_FALSE(ScoreMask(Disk(kSide, 50, 50, 3)).subject);  // a speck
  Mask specks;  // twenty small blobs: no single subject
  specks.alpha = cv::Mat::zeros(kSide, kSide, CV_32F);
  for (int i = 0; i < 20; ++i) {
    cv::circle(specks.alpha, cv::Point(20 + (i % 5) * 50, 20 + (i / 5) * 55), 12, 1.0, -1);
  }
  MaskQuality s = ScoreMask(specks);
  EXPECT_LT(s.connectedness, 0.1);
  EXPECT_FALSE(s.subject);
  EXPECT_EQ(ScoreMask(Mask{}).score, 0.0);
}

TEST(RefineTest, ModelLikeMaskBecomesTheTrueShapeWithoutHaloOrFog) {
  for (double r : {30.0, 70.0}) {
    Mask truth = Disk(kSide, 118, 123, r);
    Mask raw = ModelLike(truth, 2.5, 0.6f, 0.2f);
    Mask refined = RefineMask(raw);
    SCOPED_TRACE(r);
    EXPECT_GE(IoU(refined, truth), 0.95);
    EXPECT_LT(Halo(truth, refined), 0.01);
    EXPECT_GT(Halo(truth, raw), 0.03);  // the raw one did have a halo
    EXPECT_GT(Interior(truth, refined), 0.995);
    EXPECT_LT(Interior(truth, raw), 0.97);  // and fog
  }
}

TEST(RefineTest, SpecksGoSmallHolesCloseLargeHolesStay) {
  Mask m;
  m.alpha = cv::Mat::zeros(kSide, kSide, CV_32F);
  cv::circle(m.alpha, cv::Point(120, 120), 80, 1.0, -1);
  cv::circle(m.alpha, cv::Point(100, 100), 3, 0.0, -1);   // a small hole
  cv::circle(m.alpha, cv::Point(150, 140), 30, 0.0, -1);  // a large one (a ring's inside)
  cv::circle(m.alpha, cv::Point(10, 10), 3, 1.0, -1);     // a speck
  Mask r = RefineMask(m, {.feather = 0.7});
  EXPECT_GT(r.alpha.at<float>(100, 100), 0.99f);
  EXPECT_LT(r.alpha.at<float>(140, 150), 0.01f);
  EXPECT_LT(r.alpha.at<float>(10, 10), 0.01f);
  EXPECT_GT(r.alpha.at<float>(120, 60), 0.99f);
}

// Two dark legs over a light background, joined at the hooves: the gap between them is
// enclosed. In the photo, `gap` is the background's light colour (the legs stand apart, as the
// horse's front legs of horse.png) or the legs' dark one (a spot on one subject); the mask has
// the gap at `gap_alpha`.
struct Legs {
  Image image;
  Mask mask;
};

Legs MakeLegs(cv::Vec3b gap, float gap_alpha) {
  Legs l;
  l.image.pixels = cv::Mat(kSide, kSide, CV_8UC3, cv::Scalar(235, 240, 238));
  l.mask.alpha = cv::Mat::zeros(kSide, kSide, CV_32F);
  const cv::Rect body(40, 30, 160, 60), left(80, 90, 20, 110), right(120, 90, 20, 110);
  const cv::Rect hooves(80, 200, 60, 14), between(100, 90, 20, 110);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> tex(0, 30);
  for (const cv::Rect& r : {body, left, right, hooves}) {
    l.mask.alpha(r).setTo(1.0f);
    for (int y = r.y; y < r.y + r.height; ++y) {
      for (int x = r.x; x < r.x + r.width; ++x) {
        const uint8_t v = static_cast<uint8_t>(20 + tex(rng));
        l.image.pixels.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
      }
    }
  }
  l.image.pixels(between).setTo(cv::Scalar(gap[0], gap[1], gap[2]));
  l.mask.alpha(between).setTo(gap_alpha);
  cv::GaussianBlur(l.mask.alpha, l.mask.alpha, cv::Size(0, 0), 1.0);
  return l;
}

TEST(RefineTest, AGapTheMaskClosedStaysOpenWhereThePhotoShowsTheBackground) {
  const cv::Vec3b light(236, 241, 237), dark(30, 30, 30);
  const RefineOptions o{.max_hole = 0.2, .feather = 0.7};
  {  // The model is sure of the gap and the photo shows the background there: open.
    const Legs l = MakeLegs(light, 0.0f);
    EXPECT_LT(RefineMask(l.mask, o, &l.image).alpha.at<float>(150, 110), 0.01f);
    // Without the photo (or with one of another size), as before: filled.
    EXPECT_GT(RefineMask(l.mask, o).alpha.at<float>(150, 110), 0.99f);
    Image small;
    small.pixels = l.image.pixels(cv::Rect(0, 0, 100, 100)).clone();
    EXPECT_GT(RefineMask(l.mask, o, &small).alpha.at<float>(150, 110), 0.99f);
  }
  {  // The photo shows the subject's colour there: a hole the model left in it, filled.
    const Legs l = MakeLegs(dark, 0.0f);
    EXPECT_GT(RefineMask(l.mask, o, &l.image).alpha.at<float>(150, 110), 0.99f);
  }
  {  // The model half-sees the subject there (0.4: below 0.5 after hardening, but above its
     // `low`): filled though it has the background's colour (logo.png's white stroke at 320).
    const Legs l = MakeLegs(light, 0.4f);
    EXPECT_GT(RefineMask(l.mask, o, &l.image).alpha.at<float>(150, 110), 0.99f);
  }
  // The legs and body themselves are subject either way.
  const Legs l = MakeLegs(light, 0.0f);
  const Mask r = RefineMask(l.mask, o, &l.image);
  EXPECT_GT(r.alpha.at<float>(150, 90), 0.99f);
  EXPECT_GT(r.alpha.at<float>(150, 130), 0.99f);
  EXPECT_GT(r.alpha.at<float>(60, 120), 0.99f);
  EXPECT_LT(r.alpha.at<float>(150, 20), 0.01f);
}

TEST(RefineTest, EdgeColoursComeFromTheSubjectNotTheOldBackground) {
  // A red disk composited over a green/blue textured background.
  Mask truth = Disk(kSide, 120, 120, 60);
  Image image;
  image.pixels = cv::Mat(kSide, kSide, CV_8UC3);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> tex(0, 120);
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      const float a = truth.alpha.at<float>(y, x);
      const cv::Vec3f fg(220, 30, 40), bg(20, 90 + tex(rng), 60 + tex(rng));
      cv::Vec3f c = fg * a + bg * (1 - a);
      image.pixels.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<uint8_t>(c[0]),
                                                   cv::saturate_cast<uint8_t>(c[1]),
                                                   cv::saturate_cast<uint8_t>(c[2]));
    }
  }
  Mask refined = RefineMask(ModelLike(truth, 2.5, 0.0f, 0.0f));
  auto clean = DecontaminateEdges(image, refined);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  // Over the soft band, the colour is the subject's red, not a red-green mix.
  double before = 0, after = 0;
  int n = 0;
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      float a = refined.alpha.at<float>(y, x);
      if (a <= 0.05f || a >= 0.95f) continue;
      auto dist = [](const cv::Vec3b& p) {
        return std::abs(p[0] - 220) + std::abs(p[1] - 30) + std::abs(p[2] - 40);
      };
      before += dist(image.pixels.at<cv::Vec3b>(y, x));
      after += dist(clean->pixels.at<cv::Vec3b>(y, x));
      ++n;
    }
  }
  ASSERT_GT(n, 100);
  EXPECT_LT(after / n, 15.0);
  EXPECT_GT(before / n, 3 * after / n);
  // Away from the edge nothing changes.
  EXPECT_EQ(clean->pixels.at<cv::Vec3b>(120, 120), image.pixels.at<cv::Vec3b>(120, 120));
  EXPECT_EQ(clean->pixels.at<cv::Vec3b>(5, 5), image.pixels.at<cv::Vec3b>(5, 5));
  EXPECT_FALSE(DecontaminateEdges(image, Disk(10, 5, 5, 3)).ok());
}

// DecontaminateEdges as three whole-image blurs brought back to full size (cv::resize) would
// give it: the reference for the one that blurs only where it reads and samples the small
// levels at the band's pixels. Same radii, same resolution rule (sigma / 2, at least 2).
cv::Mat WholeImageEdgeColours(const Image& image, const Mask& alpha) {
  cv::Mat weighted(image.pixels.size(), CV_32FC4);
  for (int y = 0; y < weighted.rows; ++y) {
    for (int x = 0; x < weighted.cols; ++x) {
      const cv::Vec3b p = image.pixels.at<cv::Vec3b>(y, x);
      weighted.at<cv::Vec4f>(y, x) = alpha.alpha.at<float>(y, x) >= 0.95f
                                         ? cv::Vec4f(p[0], p[1], p[2], 1)
                                         : cv::Vec4f(0, 0, 0, 0);
    }
  }
  const double side = std::max(image.width(), image.height());
  std::vector<cv::Mat> levels;
  for (double sigma : {std::max(1.5, side / 400), std::max(4.0, side / 120), side / 30}) {
    cv::Mat out;
    const int f = static_cast<int>(sigma / 2);
    if (f < 2) {
      cv::GaussianBlur(weighted, out, cv::Size(0, 0), sigma);
    } else {
      cv::Mat small;
      cv::resize(weighted, small,
                 cv::Size((weighted.cols + f - 1) / f, (weighted.rows + f - 1) / f), 0, 0,
                 cv::INTER_AREA);
      cv::GaussianBlur(small, small, cv::Size(0, 0), sigma * small.cols / weighted.cols,
                       sigma * small.rows / weighted.rows);
      cv::resize(small, out, weighted.size(), 0, 0, cv::INTER_LINEAR);
    }
    levels.push_back(out);
  }
  cv::Mat out = image.pixels.clone();
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      const float a = alpha.alpha.at<float>(y, x);
      if (a <= 0 || a >= 0.95f) continue;
      for (const cv::Mat& level : levels) {
        const cv::Vec4f e = level.at<cv::Vec4f>(y, x);
        if (e[3] < 0.02f) continue;
        for (int k = 0; k < 3; ++k)
          out.at<cv::Vec3b>(y, x)[k] = cv::saturate_cast<uint8_t>(e[k] / e[3]);
        break;
      }
    }
  }
  return out;
}

TEST(RefineTest, EdgeColoursAreTheWholeImageBlursReadOnlyWhereNeeded) {
  // Not square (the small levels are read back with each axis's own scale). A disk with a wide
  // soft rim (far pixels take their colour from the small levels) whose colours change across
  // it (a sample read from the wrong place shows); just above its band, a bar of confident
  // pixels with hard edges (rows outside the band that its first rows must still read); a
  // corner subject whose rim reaches the right and bottom edges (the small levels' clamping
  // there). Blurred on two threads, the band's rows are two stripes, the seam across the disk
  // (a stripe that did not read its neighbour's rows shows).
  const int threads = cv::getNumThreads();
  cv::setNumThreads(2);
  const int w = 420, h = 300;
  Image image;
  image.pixels = cv::Mat(h, w, CV_8UC3);
  Mask alpha;
  alpha.alpha = cv::Mat::zeros(h, w, CV_32F);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> tex(0, 255);
  auto rim = [](double d) { return d < 30 ? 1.0 : d < 55 ? (55 - d) / 25 : 0.0; };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double disk = rim(std::hypot(x - 170.5, (y - 170.5) * 0.8));
      const double bar = y >= 92 && y < 100 && x >= 140 && x < 200 ? 1.0 : 0.0;
      const double corner = rim(std::hypot(x - 419.5, y - 299.5));
      const float a = static_cast<float>(std::max({disk, bar, corner}));
      alpha.alpha.at<float>(y, x) = a;
      image.pixels.at<cv::Vec3b>(y, x) =
          a >= 1 ? cv::Vec3b(static_cast<uint8_t>(4 * x % 256), static_cast<uint8_t>(tex(rng)), 90)
                 : cv::Vec3b(tex(rng), tex(rng), tex(rng));
    }
  }
  auto clean = DecontaminateEdges(image, alpha);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  const cv::Mat want = WholeImageEdgeColours(image, alpha);
  int band = 0, changed = 0;
  double worst = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float a = alpha.alpha.at<float>(y, x);
      if (a <= 0 || a >= 0.95f) {
        ASSERT_EQ(clean->pixels.at<cv::Vec3b>(y, x), image.pixels.at<cv::Vec3b>(y, x))
            << x << "," << y;
        continue;
      }
      ++band;
      changed += clean->pixels.at<cv::Vec3b>(y, x) != image.pixels.at<cv::Vec3b>(y, x);
      worst = std::max(worst, cv::norm(cv::Vec3i(clean->pixels.at<cv::Vec3b>(y, x)) -
                                           cv::Vec3i(want.at<cv::Vec3b>(y, x)),
                                       cv::NORM_INF));
    }
  }
  cv::setNumThreads(threads);
  ASSERT_GT(band, 3000);
  EXPECT_GT(changed, band * 9 / 10);  // the rim's far pixels too
  EXPECT_LE(worst, 1.0);              // float rounding of the interpolation only
  // Band pixels on the last column and the last row were checked.
  EXPECT_GT(alpha.alpha.at<float>(h - 40, w - 1), 0.0f);
  EXPECT_LT(alpha.alpha.at<float>(h - 40, w - 1), 0.95f);
  EXPECT_GT(alpha.alpha.at<float>(h - 1, w - 40), 0.0f);
  EXPECT_LT(alpha.alpha.at<float>(h - 1, w - 40), 0.95f);
}

// --- On the real model: subjects whose true alpha is known, over textured backgrounds ------

// A busy background: the bundled cell micrograph (ihc.png), tiled and shifted, under
// coloured noise, so that the model has texture and edges to be fooled by.
cv::Mat TexturedBackground(int side, int seed) {
  Result<Image> ihc = DecodeImage(testing::ReadFile(testing::SamplePath("ihc.png")));
  EXPECT_TRUE(ihc.ok());
  cv::Mat tile = ihc->pixels;
  if (ihc->has_alpha()) cv::cvtColor(ihc->pixels, tile, cv::COLOR_RGBA2RGB);
  cv::Mat out(side, side, CV_8UC3);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> shift(0, tile.cols - 1), noise(-25, 25);
  const int dx = shift(rng), dy = shift(rng);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      cv::Vec3b p = tile.at<cv::Vec3b>((y + dy) % tile.rows, (x + dx) % tile.cols);
      for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uint8_t>(p[c] + noise(rng));
      out.at<cv::Vec3b>(y, x) = p;
    }
  }
  return out;
}

// `rgba` (8-bit, straight alpha) pasted at (x0, y0) over `background`: the photo and the
// true alpha over the whole canvas.
std::pair<Image, Mask> Composite(const cv::Mat& background, const cv::Mat& rgba, int x0, int y0) {
  Image image;
  image.pixels = background.clone();
  Mask truth;
  truth.alpha = cv::Mat::zeros(background.size(), CV_32F);
  for (int y = 0; y < rgba.rows; ++y) {
    for (int x = 0; x < rgba.cols; ++x) {
      const cv::Vec4b f = rgba.at<cv::Vec4b>(y, x);
      const float a = f[3] / 255.0f;
      cv::Vec3b& b = image.pixels.at<cv::Vec3b>(y0 + y, x0 + x);
      for (int c = 0; c < 3; ++c) b[c] = cv::saturate_cast<uint8_t>(f[c] * a + b[c] * (1 - a));
      truth.alpha.at<float>(y0 + y, x0 + x) = a;
    }
  }
  return {std::move(image), std::move(truth)};
}

// A shaded five-pointed star (antialiased by 4x supersampling), straight RGBA.
cv::Mat Star(int side) {
  cv::Mat big = cv::Mat::zeros(side * 4, side * 4, CV_8UC4);
  std::vector<cv::Point> points;
  const double c = side * 2.0, outer = side * 1.9, inner = side * 0.8;
  for (int k = 0; k < 10; ++k) {
    const double r = k % 2 == 0 ? outer : inner, t = -CV_PI / 2 + k * CV_PI / 5;
    points.emplace_back(cvRound(c + r * std::cos(t)), cvRound(c + r * std::sin(t)));
  }
  cv::fillPoly(big, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255, 255, 255, 255),
               cv::LINE_8);
  for (int y = 0; y < big.rows; ++y) {  // a warm gradient, darker toward the bottom
    for (int x = 0; x < big.cols; ++x) {
      cv::Vec4b& p = big.at<cv::Vec4b>(y, x);
      if (p[3] == 0) continue;
      const double t = static_cast<double>(y) / big.rows;
      p = cv::Vec4b(cv::saturate_cast<uint8_t>(250 - 60 * t),
                    cv::saturate_cast<uint8_t>(170 - 90 * t),
                    cv::saturate_cast<uint8_t>(30 + 20 * t), 255);
    }
  }
  cv::Mat out;
  cv::resize(big, out, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  return out;
}

// The bundled logo's own alpha is opaque everywhere (its corners are white): its subject is
// the disk, the convex hull of its non-white pixels (white curves cross it), which becomes
// its alpha here.
cv::Mat LogoOnItsDisk(const cv::Mat& rgba) {
  cv::Mat rgb, grey, ink;
  cv::cvtColor(rgba, rgb, cv::COLOR_RGBA2RGB);
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::threshold(grey, ink, 235, 255, cv::THRESH_BINARY_INV);
  std::vector<cv::Point> points, hull;
  cv::findNonZero(ink, points);
  EXPECT_FALSE(points.empty());
  cv::convexHull(points, hull);
  cv::Mat disk = cv::Mat::zeros(rgba.size(), CV_8U);
  cv::fillConvexPoly(disk, hull, cv::Scalar(255), cv::LINE_AA);
  EXPECT_GT(cv::countNonZero(disk), rgba.total() * 6 / 10) << "the logo's disk was not found";
  cv::Mat out;
  std::vector<cv::Mat> planes;
  cv::split(rgba, planes);
  planes[3] = disk;
  cv::merge(planes, out);
  return out;
}

struct KnownAlpha {
  const char* what;
  cv::Mat rgba;
};

TEST(RefineOnTheModelTest, KnownAlphaOverTexturesComesBackWithoutHaloOrFog) {
  auto segmenter = GraphSegmenter::Load(testing::ModelManifestPath());
  ASSERT_TRUE(segmenter.ok()) << segmenter.status().ToString();
  Result<Image> logo = DecodeImage(testing::ReadFile(testing::SamplePath("logo.png")));
  ASSERT_TRUE(logo.ok());
  ASSERT_TRUE(logo->has_alpha()) << "the bundled logo is an RGBA image";
  const KnownAlpha cases[] = {{"logo.png's disk", LogoOnItsDisk(logo->pixels)},
                              {"a star", Star(420)}};
  int seed = 1;
  for (const KnownAlpha& c : cases) {
    SCOPED_TRACE(c.what);
    const int side = c.rgba.cols + 260;
    auto [image, truth] = Composite(TexturedBackground(side, seed++), c.rgba, 110, 150);
    Result<Mask> raw = (*segmenter)->Saliency(image);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    const Mask refined = RefineMask(*raw);
    std::printf("[ edges  ] %s: IoU %.3f -> %.3f, halo %.3f -> %.3f, interior %.3f -> %.3f\n",
                c.what, IoU(*raw, truth), IoU(refined, truth), Halo(truth, *raw),
                Halo(truth, refined), Interior(truth, *raw), Interior(truth, refined));
    EXPECT_GE(IoU(refined, truth), 0.95);
    EXPECT_LT(Halo(truth, refined), 0.02);
    EXPECT_GT(Interior(truth, refined), 0.99);
    EXPECT_TRUE(ScoreMask(*raw).subject) << "a clean subject is cut out";
  }
}

// horse.png's front legs stand apart, the photo's white between them down to the hooves; at
// 320 the model's mask joins the hooves, and filling the gap it closed put a white sliver
// between the legs of every collage with the horse.
TEST(RefineOnTheModelTest, TheHorsesFrontLegsStayApartAt320) {
  auto segmenter = GraphSegmenter::Load(testing::ModelManifestPath(), {.input_size = 320});
  ASSERT_TRUE(segmenter.ok()) << segmenter.status().ToString();
  Result<Image> horse = DecodeImage(testing::ReadFile(testing::SamplePath("horse.png")));
  ASSERT_TRUE(horse.ok());
  Result<Mask> raw = (*segmenter)->Saliency(*horse);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  // The photo's white pixels between the legs (its legs' inner edges, x 250-265, over the
  // lower leg, y 250-300), at least 2 pixels from any dark one.
  cv::Mat grey;
  cv::cvtColor(horse->pixels, grey, horse->has_alpha() ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
  cv::Mat white;
  cv::erode(grey > 200, white, cv::Mat::ones(5, 5, CV_8U));
  const cv::Rect gap(250, 250, 16, 51);
  const int between = cv::countNonZero(white(gap));
  ASSERT_GT(between, 20) << "the sample's legs have white between them";
  const Mask with_photo = RefineMask(*raw, {}, &*horse);
  const Mask without = RefineMask(*raw);
  double open = 0, filled = 0;
  for (int y = gap.y; y < gap.y + gap.height; ++y) {
    for (int x = gap.x; x < gap.x + gap.width; ++x) {
      if (white.at<uint8_t>(y, x) == 0) continue;
      open += with_photo.alpha.at<float>(y, x) < 0.1f;
      filled += without.alpha.at<float>(y, x) > 0.9f;
    }
  }
  // The legs themselves (the photo's dark pixels there, 2 pixels in from their edges) stay.
  cv::Mat dark;
  cv::erode(grey < 50, dark, cv::Mat::ones(5, 5, CV_8U));
  const cv::Rect legs(230, 250, 60, 51);
  int leg_pixels = 0, opaque = 0;
  for (int y = legs.y; y < legs.y + legs.height; ++y) {
    for (int x = legs.x; x < legs.x + legs.width; ++x) {
      if (dark.at<uint8_t>(y, x) == 0) continue;
      ++leg_pixels;
      opaque += with_photo.alpha.at<float>(y, x) > 0.9f;
    }
  }
  std::printf(
      "[ holes  ] horse.png at 320: %d white pixels between the legs, %.0f transparent "
      "(%.0f opaque without the photo); %d of %d leg pixels opaque\n",
      between, open, filled, opaque, leg_pixels);
  EXPECT_GT(leg_pixels, 500);
  EXPECT_GE(opaque, 0.99 * leg_pixels);
  EXPECT_GE(open, 0.95 * between);
  EXPECT_GT(filled, 0.5 * between) << "the mask closes the gap (else this tests nothing)";
}

}  // namespace
}  // namespace sparkify::vision
