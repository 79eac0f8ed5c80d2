#include "web/internal/view.h"

#include <cmath>

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

json Rgb(const layout::Rgb& c) { return json::array({c[0], c[1], c[2]}); }
double Round2(double v) { return std::round(v * 100) / 100; }

}  // namespace

json ErrorJson(const ApiError& error) { return {{"code", error.code}, {"message", error.message}}; }

layout::Layout LayOut(const Collage& collage) {
  std::vector<layout::Item> items;
  items.reserve(collage.items.size());
  for (const CollageItem& i : collage.items) items.push_back(i.item);
  return layout::Arrange(items, collage.dominant, collage.complementary, collage.seed);
}

Result<json> CollageJson(const Collage& collage, Bucket& bucket) {
  layout::Layout lay = LayOut(collage);
  json items = json::array();
  TimePoint expires{};
  for (const layout::Placement& p : lay.placements) {
    if (p.item >= collage.items.size()) continue;
    const CollageItem& ci = collage.items[p.item];
    SPARKIFY_ASSIGN_OR_RETURN(SignedUrl url, bucket.SignGet(ci.item.key));
    expires = url.expires_at;
    items.push_back({{"kind", ci.item.kind == layout::Item::Kind::kCutout ? "cutout" : "cover"},
                     {"rank", ci.item.rank},
                     {"url", url.url},
                     {"alt", ci.alt},
                     {"x", Round2(p.x)},
                     {"y", Round2(p.y)},
                     {"width", Round2(p.width)},
                     {"height", Round2(p.height)},
                     {"rotation", Round2(p.rotation)},
                     {"z", p.z},
                     {"frame", Round2(p.frame)},
                     {"shadow", p.shadow}});
    if (ci.item.kind == layout::Item::Kind::kCutout)
      items.back()["quality"] = Round2(ci.item.quality);
    if (ci.item.width > 0 && ci.item.height > 0) {
      items.back()["source_width"] = ci.item.width;
      items.back()["source_height"] = ci.item.height;
    }
  }
  json marks = json::array();
  for (const layout::Stroke& s : lay.marks) {
    json points = json::array();
    for (auto [x, y] : s.points) points.push_back({Round2(x), Round2(y)});
    marks.push_back({{"points", points},
                     {"width", Round2(s.width)},
                     {"color", Rgb(s.color)},
                     {"opacity", Round2(s.opacity)}});
  }
  json palette = json::array();
  for (const auto& c : collage.palette) palette.push_back(Rgb(c));
  return json{{"seed", collage.seed},
              {"size", lay.size},
              {"ground",
               {{"center", Rgb(lay.background)},
                {"edge", Rgb(lay.background_edge)},
                {"light", {lay.light_x, lay.light_y}}}},
              {"frame",
               {{"color", Rgb(lay.frame_color)},
                {"inset", Round2(lay.frame_inset)},
                {"width", Round2(lay.frame_width)}}},
              {"shadow",
               {{"dx", Round2(lay.shadow.dx)},
                {"dy", Round2(lay.shadow.dy)},
                {"blur", Round2(lay.shadow.blur)},
                {"opacity", Round2(lay.shadow.opacity)}}},
              {"marks", marks},
              {"dominant_color", Rgb(collage.dominant)},
              {"complementary_color", Rgb(collage.complementary)},
              {"palette", palette},
              {"expires_at", FormatIso8601(expires)},
              {"items", items}};
}

Result<json> JobJson(const JobSnapshot& job, Bucket& bucket) {
  json covers = json::array();
  for (const Cover& c : job.covers) {
    json cover = {{"index", c.index}, {"name", c.name}, {"state", CoverStageName(c.stage)}};
    if (c.error) cover["error"] = ErrorJson(*c.error);
    if (!c.note.empty()) cover["note"] = c.note;
    if (c.stage == CoverStage::kDone && !c.preview_key.empty()) {
      SPARKIFY_ASSIGN_OR_RETURN(SignedUrl url, bucket.SignGet(c.preview_key));
      cover["preview"] = {{"url", url.url}, {"cutout", c.preview_cutout}};
    }
    covers.push_back(std::move(cover));
  }
  json out = {
      {"id", job.id}, {"state", JobStageName(job.stage)}, {"covers", covers}, {"collage", nullptr}};
  if (job.error) out["error"] = ErrorJson(*job.error);
  if (job.waiting_ahead >= 0) out["waiting_ahead"] = job.waiting_ahead;
  if (job.collage) {
    SPARKIFY_ASSIGN_OR_RETURN(out["collage"], CollageJson(*job.collage, bucket));
  }
  return out;
}

}  // namespace sparkify::web::internal
