#include "web/internal/collage_answer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

std::optional<layout::Rgb> ParseRgb(const json& v) {
  if (!v.is_array() || v.size() != 3) return std::nullopt;
  layout::Rgb c{};
  for (size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number_integer()) return std::nullopt;
    c[i] = static_cast<uint8_t>(std::clamp(v[i].get<int>(), 0, 255));
  }
  return c;
}

double Distance(const layout::Rgb& a, const layout::Rgb& b) {
  double d = 0;
  for (size_t i = 0; i < 3; ++i) d += std::pow(double(a[i]) - double(b[i]), 2);
  return std::sqrt(d);
}

struct Weighted {
  layout::Rgb color;
  double weight;
};

// Colours of all chosen covers, similar ones (RGB distance < 48) merged, heaviest first.
std::vector<layout::Rgb> MergePalette(const std::vector<Weighted>& colors, size_t max) {
  std::vector<Weighted> sorted = colors;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Weighted& a, const Weighted& b) { return a.weight > b.weight; });
  std::vector<Weighted> merged;
  for (const Weighted& w : sorted) {
    auto near = std::find_if(merged.begin(), merged.end(),
                             [&](const Weighted& m) { return Distance(m.color, w.color) < 48; });
    if (near == merged.end()) {
      merged.push_back(w);
    } else {
      near->weight += w.weight;
    }
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const Weighted& a, const Weighted& b) { return a.weight > b.weight; });
  std::vector<layout::Rgb> out;
  for (size_t i = 0; i < merged.size() && i < max; ++i) out.push_back(merged[i].color);
  return out;
}

// The function's reason closed as a sentence.
std::string Sentence(std::string reason) {
  if (reason.empty() || (reason.back() != '.' && reason.back() != '!' && reason.back() != '?')) {
    reason += '.';
  }
  return reason;
}

}  // namespace

std::optional<ApiError> SegmentError(const std::string& body) {
  json doc = ParseUntrustedJson(body);
  if (!doc.is_object()) return ApiError{"function_error", "the AI function's answer is not JSON"};
  if (doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty()) {
    const json& e = doc["errors"][0];
    std::string stage = JsonString(e, "stage");
    std::string reason = JsonString(e, "reason");
    // In words for the page; the function's reason (already a sentence fragment) follows.
    if (stage == "decode")
      return ApiError{"bad_image", "This image cannot be read: " + Sentence(reason)};
    if (stage == "fetch" || stage == "read") {
      return ApiError{"fetch_failed", "Could not get the image: " + Sentence(reason)};
    }
    if (stage == "store") {  // the bucket's address and answer are for the log
      spdlog::warn("web: the function could not store a cut-out: {}", reason);
      return ApiError{"segment_failed",
                      "Cutting this cover out failed: the image store did not take the cut-out."};
    }
    if (stage == "deadline" || stage == "limit") {
      return ApiError{"segment_failed",
                      "There was no time left to cut this cover out: " + Sentence(reason)};
    }
    return ApiError{"segment_failed",
                    "Cutting this cover out failed (" + stage + "): " + Sentence(reason)};
  }
  return std::nullopt;
}

SegmentPreview PreviewOf(const std::string& body) {
  json doc = ParseUntrustedJson(body);
  SegmentPreview out;
  for (const char* list : {"cropped_image_data", "uncropped_image_data"}) {
    const json& entries = JsonMember(doc, list);
    if (!entries.is_array() || entries.empty()) continue;
    std::string key = JsonString(entries[0], "key");
    if (key.empty()) continue;
    out.key = key;
    out.cutout = std::string_view(list) == "cropped_image_data";
    return out;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Duplicates(const std::string& body) {
  constexpr std::string_view kSame = "the same picture as ";
  json doc = ParseUntrustedJson(body);
  std::vector<std::pair<std::string, std::string>> out;
  const json& errors = JsonMember(doc, "errors");
  if (!errors.is_array()) return out;
  for (const json& e : errors) {
    std::string reason = JsonString(e, "reason");
    if (JsonString(e, "stage") != "duplicate" || !reason.starts_with(kSame)) continue;
    out.emplace_back(JsonString(e, "key"), reason.substr(kSame.size()));
  }
  return out;
}

std::string DuplicateNote(const Cover& kept) {
  return "The same picture as cover " + std::to_string(kept.index + 1) + " (" + kept.name +
         "): shown once.";
}

Result<Collage> ParseCollageAnswer(const std::string& body, const std::vector<Cover>& covers,
                                   uint64_t seed) {
  json doc = ParseUntrustedJson(body);
  if (!doc.is_object()) return Status::InvalidArgument("the AI function's answer is not JSON");
  Collage out;
  out.seed = seed;
  auto dominant = ParseRgb(JsonMember(doc, "dominant_color"));
  auto complementary = ParseRgb(JsonMember(doc, "complementary_color"));
  if (!dominant || !complementary) {
    return Status::InvalidArgument("the AI function's answer has no collage colours");
  }
  out.dominant = *dominant;
  out.complementary = *complementary;
  std::vector<Weighted> colors;
  auto add = [&](const json& entry, bool cutout) -> Status {
    if (!entry.is_object()) return Status::InvalidArgument("a collage entry is not an object");
    std::string source = JsonString(entry, "source");
    std::string key = JsonString(entry, "key");
    auto cover =
        std::find_if(covers.begin(), covers.end(), [&](const Cover& c) { return c.key == source; });
    if (cover == covers.end() || key.empty()) {
      return Status::InvalidArgument("the AI function answered about an unknown cover: " + source);
    }
    CollageItem item;
    item.item.kind = cutout ? layout::Item::Kind::kCutout : layout::Item::Kind::kCover;
    item.item.key = key;
    item.item.rank = cover->index;
    item.item.width = cover->width;
    item.item.height = cover->height;
    // A cut-out is cropped to its subject: its own size, when the answer gives it.
    const json& size = JsonMember(entry, "cutout_size");
    if (cutout && size.is_array() && size.size() == 2 && size[0].is_number_integer() &&
        size[1].is_number_integer() && size[0].get<int64_t>() >= 1 && size[1].get<int64_t>() >= 1 &&
        size[0].get<int64_t>() <= 65535 && size[1].get<int64_t>() <= 65535) {
      item.item.width = size[0].get<int>();
      item.item.height = size[1].get<int>();
    }
    const json& quality = JsonMember(entry, "mask_quality");
    if (quality.is_number()) item.item.quality = std::clamp(quality.get<double>(), 0.0, 1.0);
    std::string n = std::to_string(cover->index + 1);
    item.alt = (cutout ? "Cut-out from cover " + n + ": " : "Cover " + n + ": ") + cover->name;
    out.items.push_back(std::move(item));
    if (entry.contains("colors") && entry["colors"].is_array()) {
      for (const json& c : entry["colors"]) {
        auto rgb = ParseRgb(JsonMember(c, "rgb"));
        if (rgb && JsonMember(c, "share").is_number()) {
          colors.push_back({*rgb, c["share"].get<double>()});
        }
      }
    }
    return Status::OK();
  };
  for (const char* list : {"cropped_image_data", "uncropped_image_data"}) {
    if (!doc.contains(list) || !doc[list].is_array()) {
      return Status::InvalidArgument(std::string("the AI function's answer lacks ") + list);
    }
    for (const json& entry : doc[list]) {
      SPARKIFY_RETURN_IF_ERROR(add(entry, std::string_view(list) == "cropped_image_data"));
    }
  }
  std::stable_sort(out.items.begin(), out.items.end(),
                   [](const CollageItem& a, const CollageItem& b) {
                     if (a.item.kind != b.item.kind)
                       return a.item.kind == layout::Item::Kind::kCutout;
                     return a.item.rank < b.item.rank;
                   });
  if (out.items.empty()) return Status::InvalidArgument("the AI function chose no covers");
  out.palette = MergePalette(colors, 6);
  return out;
}

}  // namespace sparkify::web::internal
