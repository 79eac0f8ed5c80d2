// Share renderer (see render.h). Each image goes through premultiplied float RGBA, is shrunk with
// area averaging to about its drawn size (so large covers do not alias), then warped with one
// affine map (stretch, rotate about the centre, translate) into the small canvas region its
// rotated box covers; each output pixel's coverage of the box antialiases the edges.
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
      !Finite(p.rotation) || p.width <= 0 || p.height <= 0) {
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

// Draws one image ("over") onto the CV_32FC3 canvas. Sizes and positions in output pixels.
void Draw(const cv::Mat& image, const layout::Placement& p, double scale, cv::Mat& canvas) {
  const double w = p.width * scale, h = p.height * scale;
  const double cx = p.x * scale, cy = p.y * scale;
  const double theta = p.rotation * std::numbers::pi / 180;
  const double c = std::cos(theta), s = std::sin(theta);

  // The region the rotated box covers (one pixel of margin for the antialiased edge).
  const double hx = 0.5 * (w * std::abs(c) + h * std::abs(s));
  const double hy = 0.5 * (w * std::abs(s) + h * std::abs(c));
  const int x0 = std::max(0, static_cast<int>(std::floor(cx - hx)) - 1);
  const int y0 = std::max(0, static_cast<int>(std::floor(cy - hy)) - 1);
  const int x1 = std::min(canvas.cols, static_cast<int>(std::ceil(cx + hx)) + 1);
  const int y1 = std::min(canvas.rows, static_cast<int>(std::ceil(cy + hy)) + 1);
  if (x0 >= x1 || y0 >= y1) return;  // entirely off the canvas

  cv::Mat src = Premultiplied(image);
  // Shrink with area averaging first when the image is larger than drawn.
  const int tw = std::max(1, static_cast<int>(std::lround(w)));
  const int th = std::max(1, static_cast<int>(std::lround(h)));
  if (tw < src.cols || th < src.rows) {
    cv::Mat small;
    cv::resize(src, small, cv::Size(std::min(tw, src.cols), std::min(th, src.rows)), 0, 0,
               cv::INTER_AREA);
    src = small;
  }

  // Source pixel centre -> output pixel centre: stretch to w x h, rotate clockwise (y down),
  // move to the placement's centre, relative to the region's origin.
  const double sx = w / src.cols, sy = h / src.rows;
  const double ux = (src.cols - 1) / 2.0, uy = (src.rows - 1) / 2.0;
  const double tx = cx - 0.5 - x0, ty = cy - 0.5 - y0;
  cv::Matx23d m(c * sx, -s * sy, 0, s * sx, c * sy, 0);
  m(0, 2) = tx - (m(0, 0) * ux + m(0, 1) * uy);
  m(1, 2) = ty - (m(1, 0) * ux + m(1, 1) * uy);

  // Colours sampled with the border replicated (no dark fringe, no blur when enlarging); the
  // edge is then antialiased by the pixel's coverage of the rotated box, as a browser does.
  cv::Mat warped;
  cv::warpAffine(src, warped, m, cv::Size(x1 - x0, y1 - y0), cv::INTER_LINEAR,
                 cv::BORDER_REPLICATE);
  cv::Mat region = canvas(cv::Rect(x0, y0, x1 - x0, y1 - y0));
  for (int y = 0; y < region.rows; ++y) {
    const cv::Vec4f* sp = warped.ptr<cv::Vec4f>(y);
    cv::Vec3f* dp = region.ptr<cv::Vec3f>(y);
    const double dy = y0 + y + 0.5 - cy;
    for (int x = 0; x < region.cols; ++x) {
      const double dx = x0 + x + 0.5 - cx;
      const double u = c * dx + s * dy, v = -s * dx + c * dy;  // in the box's own axes
      const float cover = static_cast<float>(std::clamp(0.5 * w - std::abs(u) + 0.5, 0.0, 1.0) *
                                             std::clamp(0.5 * h - std::abs(v) + 0.5, 0.0, 1.0));
      if (cover <= 0) continue;
      const float a = std::clamp(sp[x][3], 0.0f, 1.0f) * cover;
      for (int k = 0; k < 3; ++k) dp[x][k] = sp[x][k] * cover + dp[x][k] * (1.0f - a);
    }
  }
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

  try {
    const int side = static_cast<int>(side_d);
    const double scale = side_d / layout.size;  // exact side, so the canvas maps exactly
    const auto& bg = layout.background;
    cv::Mat canvas(side, side, CV_32FC3, cv::Scalar(bg[0], bg[1], bg[2]));
    std::vector<const layout::Placement*> order;
    for (const auto& p : layout.placements) order.push_back(&p);
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->z < b->z; });
    for (const auto* p : order) Draw(images[p->item].pixels, *p, scale, canvas);
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
