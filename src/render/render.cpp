// Share renderer (see render.h). In canvas order: the ground (radial gradient), the frame line,
// then every placement in z order (its shadow, its print's white border, its image), then the
// marks. Images go through premultiplied float RGBA, are shrunk with area averaging to about
// their drawn size (so large covers do not alias), then warped with one affine map (stretch,
// rotate about the centre, translate) into the canvas region their rotated box covers; each
// output pixel's coverage of the box antialiases the edges, as a browser does.
#include "render/render.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numbers>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/cutout.h"

namespace sparkify::render {
namespace {

bool Finite(double v) { return std::isfinite(v); }

Status CheckPlacement(const layout::Placement& p, const std::vector<vision::Image>& images) {
  if (p.item >= images.size()) {
    return Status::InvalidArgument("placement refers to item " + std::to_string(p.item) +
                                   " but only " + std::to_string(images.size()) +
                                   " images were given");
  }
  const cv::Mat& m = images[p.item].pixels;
  if (m.empty() || m.depth() != CV_8U || (m.channels() != 3 && m.channels() != 4)) {
    return Status::InvalidArgument("image of item " + std::to_string(p.item) +
                                   " is not a non-empty 8-bit RGB or RGBA image");
  }
  if (!Finite(p.x) || !Finite(p.y) || !Finite(p.width) || !Finite(p.height) ||
      !Finite(p.rotation) || !Finite(p.frame) || p.width <= 0 || p.height <= 0 || p.frame < 0 ||
      2 * p.frame >= std::min(p.width, p.height)) {
    return Status::InvalidArgument("placement of item " + std::to_string(p.item) +
                                   " has a non-finite or non-positive geometry");
  }
  return Status::OK();
}

// Straight-alpha 8-bit RGB(A) -> CV_32FC4: RGB premultiplied (0..255), alpha 0..1.
cv::Mat Premultiplied(const cv::Mat& src) {
  cv::Mat out(src.rows, src.cols, CV_32FC4);
  const bool alpha = src.channels() == 4;
  for (int y = 0; y < src.rows; ++y) {
    const uint8_t* s = src.ptr<uint8_t>(y);
    cv::Vec4f* d = out.ptr<cv::Vec4f>(y);
    for (int x = 0; x < src.cols; ++x, s += src.channels()) {
      const float a = alpha ? s[3] / 255.0f : 1.0f;
      d[x] = {s[0] * a, s[1] * a, s[2] * a, a};
    }
  }
  return out;
}

// A box of w x h output pixels centred at (cx, cy), rotated clockwise by `degrees`.
struct Box {
  double cx, cy, w, h, c, s;
  Box(double x, double y, double width, double height, double degrees)
      : cx(x), cy(y), w(width), h(height) {
    const double t = degrees * std::numbers::pi / 180;
    c = std::cos(t);
    s = std::sin(t);
  }
  // The canvas region it covers, one pixel of margin for the antialiased edge (and `grow`
  // more), clipped to the canvas.
  cv::Rect Region(const cv::Size& canvas, double grow = 0) const {
    const double hx = 0.5 * (w * std::abs(c) + h * std::abs(s)) + grow;
    const double hy = 0.5 * (w * std::abs(s) + h * std::abs(c)) + grow;
    const int x0 = std::max(0, static_cast<int>(std::floor(cx - hx)) - 1);
    const int y0 = std::max(0, static_cast<int>(std::floor(cy - hy)) - 1);
    const int x1 = std::min(canvas.width, static_cast<int>(std::ceil(cx + hx)) + 1);
    const int y1 = std::min(canvas.height, static_cast<int>(std::ceil(cy + hy)) + 1);
    return x0 < x1 && y0 < y1 ? cv::Rect(x0, y0, x1 - x0, y1 - y0) : cv::Rect();
  }
  // How much of output pixel (x, y) the box covers, 0..1 (separable approximation).
  float Coverage(int x, int y) const {
    const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
    const double u = c * dx + s * dy, v = -s * dx + c * dy;  // in the box's own axes
    return static_cast<float>(std::clamp(0.5 * w - std::abs(u) + 0.5, 0.0, 1.0) *
                              std::clamp(0.5 * h - std::abs(v) + 0.5, 0.0, 1.0));
  }
};

// The image, premultiplied, warped into `region` so that it fills `box`; alpha multiplied by
// the box's coverage. CV_32FC4 of the region's size.
cv::Mat Warped(const cv::Mat& image, const Box& box, const cv::Rect& region) {
  cv::Mat src = Premultiplied(image);
  const int tw = std::max(1, static_cast<int>(std::lround(box.w)));
  const int th = std::max(1, static_cast<int>(std::lround(box.h)));
  if (tw < src.cols || th < src.rows) {  // shrink with area averaging first
    cv::Mat small;
    cv::resize(src, small, cv::Size(std::min(tw, src.cols), std::min(th, src.rows)), 0, 0,
               cv::INTER_AREA);
    src = small;
  }
  // Source pixel centre -> output pixel centre: stretch to w x h, rotate clockwise (y down),
  // move to the box's centre, relative to the region's origin.
  const double sx = box.w / src.cols, sy = box.h / src.rows;
  const double ux = (src.cols - 1) / 2.0, uy = (src.rows - 1) / 2.0;
  const double tx = box.cx - 0.5 - region.x, ty = box.cy - 0.5 - region.y;
  cv::Matx23d m(box.c * sx, -box.s * sy, 0, box.s * sx, box.c * sy, 0);
  m(0, 2) = tx - (m(0, 0) * ux + m(0, 1) * uy);
  m(1, 2) = ty - (m(1, 0) * ux + m(1, 1) * uy);
  // Colours sampled with the border replicated (no dark fringe, no blur when enlarging).
  cv::Mat warped;
  cv::warpAffine(src, warped, m, region.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  for (int y = 0; y < warped.rows; ++y) {
    cv::Vec4f* p = warped.ptr<cv::Vec4f>(y);
    for (int x = 0; x < warped.cols; ++x) {
      const float cover = box.Coverage(region.x + x, region.y + y);
      p[x] *= cover;  // premultiplied: colour and alpha alike
      p[x][3] = std::clamp(p[x][3], 0.0f, 1.0f);
    }
  }
  return warped;
}

// Premultiplied `layer` (CV_32FC4, region-sized) "over" the canvas.
void Over(cv::Mat& canvas, const cv::Rect& region, const cv::Mat& layer) {
  for (int y = 0; y < region.height; ++y) {
    const cv::Vec4f* l = layer.ptr<cv::Vec4f>(y);
    cv::Vec3f* d = canvas.ptr<cv::Vec3f>(region.y + y) + region.x;
    for (int x = 0; x < region.width; ++x) {
      const float a = l[x][3];
      if (a <= 0) continue;
      for (int k = 0; k < 3; ++k) d[x][k] = l[x][k] + d[x][k] * (1.0f - a);
    }
  }
}

// A solid colour over the canvas where `alpha` (region-sized, CV_32F) says.
void Paint(cv::Mat& canvas, const cv::Rect& region, const cv::Mat& alpha, const cv::Vec3f& colour) {
  for (int y = 0; y < region.height; ++y) {
    const float* a = alpha.ptr<float>(y);
    cv::Vec3f* d = canvas.ptr<cv::Vec3f>(region.y + y) + region.x;
    for (int x = 0; x < region.width; ++x) {
      if (a[x] <= 0) continue;
      d[x] = colour * a[x] + d[x] * (1.0f - a[x]);
    }
  }
}

// The shadow of a shape whose alpha over `region` is `alpha`: moved, blurred (sigma = blur/2,
// as CSS drop-shadow), black at the shadow's opacity.
void DrawShadow(cv::Mat& canvas, const cv::Rect& region, const cv::Mat& alpha,
                const layout::Shadow& shadow, double scale) {
  const double sigma = shadow.blur * scale / 2;
  const int pad = static_cast<int>(std::ceil(3 * sigma)) + 2;
  const int dx = static_cast<int>(std::lround(shadow.dx * scale));
  const int dy = static_cast<int>(std::lround(shadow.dy * scale));
  cv::Mat padded = cv::Mat::zeros(region.height + 2 * pad, region.width + 2 * pad, CV_32F);
  alpha.copyTo(padded(cv::Rect(pad, pad, region.width, region.height)));
  if (sigma > 0.05) cv::GaussianBlur(padded, padded, cv::Size(0, 0), sigma);
  cv::Rect target(region.x - pad + dx, region.y - pad + dy, padded.cols, padded.rows);
  cv::Rect visible = target & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (visible.area() <= 0) return;
  cv::Mat a =
      padded(cv::Rect(visible.x - target.x, visible.y - target.y, visible.width, visible.height)) *
      shadow.opacity;
  Paint(canvas, visible, a, cv::Vec3f(0, 0, 0));
}

void DrawPlacement(cv::Mat& canvas, const cv::Mat& image, const layout::Placement& p,
                   const layout::Shadow& shadow, double scale) {
  const Box outer(p.x * scale, p.y * scale, p.width * scale, p.height * scale, p.rotation);
  const cv::Rect region = outer.Region(canvas.size());
  if (region.area() <= 0) return;  // entirely off the canvas
  const double frame = p.frame * scale;
  const Box inner(outer.cx, outer.cy, outer.w - 2 * frame, outer.h - 2 * frame, p.rotation);
  cv::Mat picture = Warped(image, inner, region);
  cv::Mat border;  // the print's white border: the outer box's coverage
  if (frame > 0) {
    border.create(region.size(), CV_32F);
    for (int y = 0; y < region.height; ++y) {
      float* b = border.ptr<float>(y);
      for (int x = 0; x < region.width; ++x) b[x] = outer.Coverage(region.x + x, region.y + y);
    }
  }
  if (p.shadow && shadow.opacity > 0) {
    cv::Mat alpha;
    if (frame > 0) {
      alpha = border;
    } else {
      cv::extractChannel(picture, alpha, 3);
    }
    DrawShadow(canvas, region, alpha, shadow, scale);
  }
  if (frame > 0) Paint(canvas, region, border, cv::Vec3f(255, 255, 255));
  Over(canvas, region, picture);
}

// The ground: CSS radial-gradient(circle farthest-corner at light, background 0%, edge 75%).
void DrawGround(cv::Mat& canvas, const layout::Layout& l) {
  const double side = canvas.cols;
  const double cx = l.light_x * side, cy = l.light_y * side;
  const double r = std::hypot(std::max(cx, side - cx), std::max(cy, side - cy));
  const cv::Vec3f c0(l.background[0], l.background[1], l.background[2]);
  const cv::Vec3f c1(l.background_edge[0], l.background_edge[1], l.background_edge[2]);
  for (int y = 0; y < canvas.rows; ++y) {
    cv::Vec3f* d = canvas.ptr<cv::Vec3f>(y);
    for (int x = 0; x < canvas.cols; ++x) {
      const double t = std::min(1.0, std::hypot(x + 0.5 - cx, y + 0.5 - cy) / r / 0.75);
      d[x] = c0 + (c1 - c0) * static_cast<float>(t);
    }
  }
}

// The frame line: a border of frame_width inside the square inset by frame_inset.
void DrawFrameLine(cv::Mat& canvas, const layout::Layout& l, double scale) {
  if (l.frame_width <= 0) return;
  const double side = canvas.cols;
  const double a = l.frame_inset * scale, b = a + l.frame_width * scale;
  // Coverage of [lo, hi] by pixel [i, i + 1].
  auto span = [](int i, double lo, double hi) {
    return std::clamp(std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i)), 0.0, 1.0);
  };
  cv::Mat alpha = cv::Mat::zeros(canvas.size(), CV_32F);
  for (int y = 0; y < canvas.rows; ++y) {
    float* p = alpha.ptr<float>(y);
    const double outer_y = span(y, a, side - a), inner_y = span(y, b, side - b);
    for (int x = 0; x < canvas.cols; ++x) {
      const double outer = span(x, a, side - a) * outer_y;
      const double inner = span(x, b, side - b) * inner_y;
      p[x] = static_cast<float>(std::max(0.0, outer - inner));
    }
  }
  Paint(canvas, cv::Rect(0, 0, canvas.cols, canvas.rows), alpha,
        cv::Vec3f(l.frame_color[0], l.frame_color[1], l.frame_color[2]));
}

// A stroke: the pixels within width/2 of the polyline (round caps and joins), antialiased.
void DrawStroke(cv::Mat& canvas, const layout::Stroke& s, double scale) {
  if (s.points.size() < 2 || s.width <= 0) return;
  const double half = s.width * scale / 2;
  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (auto [x, y] : s.points) {
    x0 = std::min(x0, x * scale);
    y0 = std::min(y0, y * scale);
    x1 = std::max(x1, x * scale);
    y1 = std::max(y1, y * scale);
  }
  cv::Rect region = cv::Rect(static_cast<int>(std::floor(x0 - half - 1)),
                             static_cast<int>(std::floor(y0 - half - 1)),
                             static_cast<int>(std::ceil(x1 - x0 + 2 * half + 3)),
                             static_cast<int>(std::ceil(y1 - y0 + 2 * half + 3))) &
                    cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (region.area() <= 0) return;
  cv::Mat alpha(region.size(), CV_32F);
  for (int y = 0; y < region.height; ++y) {
    float* p = alpha.ptr<float>(y);
    for (int x = 0; x < region.width; ++x) {
      const double px = region.x + x + 0.5, py = region.y + y + 0.5;
      double best = 1e18;
      for (size_t i = 0; i + 1 < s.points.size(); ++i) {
        const double ax = s.points[i].first * scale, ay = s.points[i].second * scale;
        const double bx = s.points[i + 1].first * scale, by = s.points[i + 1].second * scale;
        const double vx = bx - ax, vy = by - ay, len2 = vx * vx + vy * vy;
        double t = len2 > 0 ? ((px - ax) * vx + (py - ay) * vy) / len2 : 0;
        t = std::clamp(t, 0.0, 1.0);
        best = std::min(best, std::hypot(px - ax - t * vx, py - ay - t * vy));
      }
      p[x] = static_cast<float>(std::clamp(half - best + 0.5, 0.0, 1.0) * s.opacity);
    }
  }
  Paint(canvas, region, alpha, cv::Vec3f(s.color[0], s.color[1], s.color[2]));
}

}  // namespace

Result<vision::Image> Render(const layout::Layout& layout, const std::vector<vision::Image>& images,
                             const RenderOptions& options) {
  if (layout.size < 1) return Status::InvalidArgument("layout size must be at least 1");
  if (!Finite(options.scale) || options.scale <= 0) {
    return Status::InvalidArgument("render scale must be a positive number");
  }
  const double side_d = std::round(layout.size * options.scale);
  if (side_d < 1 || side_d > options.max_side) {
    return Status::InvalidArgument("output side must be between 1 and " +
                                   std::to_string(options.max_side) + " pixels");
  }
  for (const auto& p : layout.placements) SPARKIFY_RETURN_IF_ERROR(CheckPlacement(p, images));
  for (const auto& s : layout.marks) {
    for (auto [x, y] : s.points) {
      if (!Finite(x) || !Finite(y)) return Status::InvalidArgument("a mark is not finite");
    }
  }

  try {
    const int side = static_cast<int>(side_d);
    const double scale = side_d / layout.size;  // exact side, so the canvas maps exactly
    cv::Mat canvas(side, side, CV_32FC3);
    DrawGround(canvas, layout);
    DrawFrameLine(canvas, layout, scale);
    std::vector<const layout::Placement*> order;
    for (const auto& p : layout.placements) order.push_back(&p);
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->z < b->z; });
    for (const auto* p : order) {
      DrawPlacement(canvas, images[p->item].pixels, *p, layout.shadow, scale);
    }
    for (const auto& s : layout.marks) DrawStroke(canvas, s, scale);
    vision::Image out;
    canvas.convertTo(out.pixels, CV_8UC3);  // rounds and saturates
    return out;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("rendering failed: ") + e.what());
  }
}

Result<std::string> RenderPng(const layout::Layout& layout,
                              const std::vector<vision::Image>& images,
                              const RenderOptions& options) {
  if (options.png_compression < 0 || options.png_compression > 9) {
    return Status::InvalidArgument("png_compression must be 0..9");
  }
  SPARKIFY_ASSIGN_OR_RETURN(vision::Image canvas, Render(layout, images, options));
  return vision::EncodePng(canvas, options.png_compression);
}

}  // namespace sparkify::render
