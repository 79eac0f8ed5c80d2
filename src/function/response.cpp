#include "function/response.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace sparkify::function {
namespace {

using json = nlohmann::json;

double Round(double v, double scale) { return std::round(v * scale) / scale; }

json Rgb(const collage::Rgb& c) { return json::array({c.r, c.g, c.b}); }

json InputField(const InputRef& in) { return in.is_url() ? "url" : "key"; }

json Entry(const CoverResult& c) {
  json e = json::object();
  if (c.cropped) {
    e["key"] = c.cutout_key;
  } else {
    e[InputField(c.input).get<std::string>()] = c.input.value;
  }
  e["source"] = c.input.value;
  e["rank"] = c.input.rank;
  e["position"] = c.position;
  if (!c.palette.empty()) {
    json colors = json::array();
    for (const auto& p : c.palette) colors.push_back({{"rgb", Rgb(p.color)}, {"share", p.share}});
    e["colors"] = std::move(colors);
  }
  if (c.score) e["score"] = Round(*c.score, 1e4);
  if (c.foreground_share) e["foreground_share"] = Round(*c.foreground_share, 1e4);
  if (c.mask_quality) e["mask_quality"] = Round(*c.mask_quality, 1e4);
  if (c.cutout_width > 0) e["cutout_size"] = json::array({c.cutout_width, c.cutout_height});
  if (!c.cutout_key.empty()) e["cached"] = c.cache_hit;
  return e;
}

json Errors(std::span<const InputError> errors) {
  json out = json::array();
  for (const InputError& e : errors) {
    out.push_back({{InputField(e.input).get<std::string>(), e.input.value},
                   {"rank", e.input.rank},
                   {"stage", e.stage},
                   {"reason", e.reason}});
  }
  return out;
}

std::string Wrap(EventForm form, int status_code, json body) {
  json answer = {{"statusCode", status_code}};
  if (form == EventForm::kApiGateway) {
    answer["headers"] = {{"Content-Type", "application/json"}};
    answer["isBase64Encoded"] = false;
    answer["body"] = body.dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    answer["body"] = std::move(body);
  }
  return answer.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string RenderResult(EventForm form, const PipelineResult& r) {
  json body = json::object();
  json cropped = json::array(), uncropped = json::array();
  for (const auto& c : r.cropped) cropped.push_back(Entry(c));
  for (const auto& c : r.uncropped) uncropped.push_back(Entry(c));
  body["cropped_image_data"] = std::move(cropped);
  body["uncropped_image_data"] = std::move(uncropped);
  if (r.dominant) body["dominant_color"] = Rgb(*r.dominant);
  if (r.complementary) body["complementary_color"] = Rgb(*r.complementary);
  body["errors"] = Errors(r.errors);
  body["op"] = OperationName(r.op);
  body["model"] = r.stats.model;
  body["stats"] = {{"inputs", r.stats.inputs},
                   {"segmented", r.stats.segmented},
                   {"cache_hits", r.stats.cache_hits},
                   {"load_ms", Round(r.stats.load_ms, 10)},
                   {"select_ms", Round(r.stats.select_ms, 10)},
                   {"cutout_ms", Round(r.stats.cutout_ms, 10)},
                   {"total_ms", Round(r.stats.total_ms, 10)}};
  return Wrap(form, 200, std::move(body));
}

std::string RenderRefusal(EventForm form, int status_code, std::string_view error_type,
                          std::string_view message, std::span<const InputError> errors) {
  json body = {{"error", error_type}, {"message", message}};
  if (!errors.empty()) body["errors"] = Errors(errors);
  return Wrap(form, status_code, std::move(body));
}

}  // namespace sparkify::function
