// The pipeline's cut-out stage: content-addressed keys, the HEAD that skips the model, the
// model run on the whole image, the PNG and its PUT. One cover at a time.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

#include "function/pipeline_internal.h"
#include "vision/cutout.h"
#include "vision/mask_quality.h"

namespace sparkify::function {
namespace {

constexpr const char* kShareMeta = "foreground-share";
constexpr const char* kQualityMeta = "mask-quality";
constexpr const char* kSizeMeta = "cutout-size";  // "WxH"

// "WxH" with both in 1..65535, as stored with a cut-out.
bool ParseSize(const std::optional<std::string>& text, int* w, int* h) {
  if (!text) return false;
  char tail = 0;
  if (std::sscanf(text->c_str(), "%dx%d%c", w, h, &tail) != 2) return false;
  return *w >= 1 && *h >= 1 && *w <= 65535 && *h <= 65535;
}

// A share or a mask quality stored with a cut-out, when it is a number in [0, 1].
std::optional<double> ParseShare(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1) {
    return std::nullopt;
  }
  return v;
}

std::string FormatShare(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", share);
  return buf;
}

}  // namespace

std::string Pipeline::CutoutKey(std::string_view sha256_hex, std::string_view model_id) const {
  std::string id(model_id);
  for (char& c : id) {
    if (c == '@' || c == '/' || c == ' ') c = '-';
  }
  return options_.cutout_prefix + std::string(sha256_hex) + "-" + id + ".png";
}

std::chrono::milliseconds Pipeline::ForwardEstimate(const std::string& model_id) {
  std::lock_guard lock(estimate_mu_);
  auto it = last_forward_.find(model_id);
  return it != last_forward_.end() ? it->second : options_.first_forward_estimate;
}

void Pipeline::RecordForward(const std::string& model_id, std::chrono::milliseconds took) {
  std::lock_guard lock(estimate_mu_);
  last_forward_[model_id] = took;
}

Status Pipeline::RunCutouts(std::vector<CutoutPlan>& plans, vision::Segmenter& segmenter,
                            double threshold, TimePoint deadline, PipelineResult* result) {
  const std::string model_id = segmenter.ModelId();
  result->stats.model = model_id;
  vision::CutOutOptions cut_options;
  cut_options.crop_threshold = threshold;
  cut_options.png_compression = options_.png_compression;
  Status bucket;  // not OK once the bucket has proved unreadable

  // One cover: a cut-out found, made, or an error in p.error.
  auto one = [&](CutoutPlan& p) {
    const InputRef& in = p.cover.input;
    const char* stage = "store";
    auto fail = [&](const std::string& reason) { p.error = InputError{in, stage, reason}; };
    try {
      const std::string key = CutoutKey(p.source->sha256, model_id);
      auto head = env_.store->Head(key);
      if (!head.ok()) {
        bucket = Status::Unavailable("cannot read the bucket " + env_.store->Describe() + ": " +
                                     head.status().message());
        return;
      }
      if (head->has_value()) {
        auto share = ParseShare((*head)->Meta(kShareMeta));
        auto quality = ParseShare((*head)->Meta(kQualityMeta));
        int w = 0, h = 0;
        const bool sized = ParseSize((*head)->Meta(kSizeMeta), &w, &h);
        // A cut-out stored before masks were scored (and refined, and cropped) is made again.
        if (share && quality && sized) {
          p.cover.cutout_width = w;
          p.cover.cutout_height = h;
          p.cover.cutout_key = key;
          p.cover.foreground_share = *share;
          p.cover.mask_quality = *quality;
          p.cover.cropped = *share >= threshold && *quality >= vision::kSubjectThreshold;
          p.cover.cache_hit = true;
          ++result->stats.cache_hits;
          return;
        }
      }
      if (deadline != TimePoint{}) {
        const auto left = deadline - env_.clock->Now();
        const auto needed = options_.deadline_reserve + ForwardEstimate(model_id);
        if (left < needed) {
          stage = "deadline";
          fail("not started: the invocation's deadline is " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) +
               " ms away, and a model run and the answer need about " +
               std::to_string(needed.count()) + " ms");
          return;
        }
      }
      stage = "decode";
      auto image = vision::DecodeImage(p.source->bytes, options_.decode_limits);
      if (!image.ok()) {
        fail(image.status().message());
        return;
      }
      stage = "segment";
      auto started = std::chrono::steady_clock::now();
      Result<vision::Mask> mask = Status::Internal("not run");
      {
        std::lock_guard lock(model_mu_);
        mask = segmenter.Saliency(*image);
      }
      RecordForward(model_id, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started));
      if (!mask.ok()) {
        fail(mask.status().message());
        return;
      }
      ++result->stats.segmented;
      auto cut = vision::CutOut(*image, *mask, cut_options);
      if (!cut.ok()) {
        fail(cut.status().message());
        return;
      }
      // The share as stored, so this answer and later cached ones agree to the last digit.
      const std::string share_text = FormatShare(cut->foreground_share);
      const double share = ParseShare(share_text).value_or(cut->foreground_share);
      const std::string quality_text = FormatShare(cut->quality.score);
      const double quality = ParseShare(quality_text).value_or(cut->quality.score);
      stage = "store";
      Status put = env_.store->Put(
          key, cut->png, "image/png",
          {{kShareMeta, share_text},
           {kQualityMeta, quality_text},
           {kSizeMeta, std::to_string(cut->width) + "x" + std::to_string(cut->height)},
           {"model", model_id},
           {"source-sha256", p.source->sha256}});
      if (!put.ok()) {
        fail("cannot store the cut-out in " + env_.store->Describe() + ": " + put.message());
        return;
      }
      p.cover.cutout_key = key;
      p.cover.foreground_share = share;
      p.cover.mask_quality = quality;
      p.cover.cutout_width = cut->width;
      p.cover.cutout_height = cut->height;
      p.cover.cropped = share >= threshold && quality >= vision::kSubjectThreshold;
    } catch (const std::bad_alloc&) {
      fail("out of memory");
    } catch (const std::exception& e) {
      fail(std::string("internal error: ") + e.what());
    } catch (...) {
      fail("internal error");
    }
  };
  for (CutoutPlan& p : plans) {
    if (!p.wanted) continue;
    one(p);
    p.source->bytes = std::string();  // done with this input
    if (!bucket.ok()) return bucket;
  }
  return Status::OK();
}

}  // namespace sparkify::function
