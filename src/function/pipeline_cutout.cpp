// The pipeline's cut-out stage, one cover at a time: content-addressed keys, the HEAD that
// skips the model, the model run on the whole image, and the PNG's PUT with its scores and
// the cover's palette (cutout_meta.h).
#include <exception>
#include <new>

#include "common/crypto.h"
#include "function/cutout_meta.h"
#include "function/internal/pipeline_internal.h"
#include "vision/cutout.h"
#include "vision/mask_quality.h"

namespace sparkify::function {

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

Result<bool> Pipeline::UseStoredCutout(CutoutPlan& p, const std::string& key, double threshold) {
  const Loaded& source = *p.source;
  std::optional<ObjectHead> found = source.cutout;
  if (!source.cutout_looked_up) {
    auto head = env_.store->Head(key);
    if (!head.ok()) {
      return Status::Unavailable("cannot read the bucket " + env_.store->Describe() + ": " +
                                 head.status().message());
    }
    found = std::move(*head);
  }
  // A cut-out stored before masks were scored (and refined, and cropped) is made again.
  std::optional<CutoutMeta> meta = found ? ParseCutoutMeta(*found) : std::nullopt;
  if (!meta) return false;
  p.cover.cutout_width = meta->width;
  p.cover.cutout_height = meta->height;
  p.cover.cutout_key = key;
  p.cover.foreground_share = meta->foreground_share;
  p.cover.mask_quality = meta->mask_quality;
  p.cover.cropped = ShownCutOut(meta->foreground_share, meta->mask_quality, threshold);
  p.cover.cache_hit = true;
  return true;
}

std::optional<InputError> Pipeline::StartsInTime(const CutoutPlan& p, const std::string& model_id,
                                                 TimePoint deadline) {
  if (deadline == TimePoint{}) return std::nullopt;
  const auto left = deadline - env_.clock->Now();
  const auto needed = options_.deadline_reserve + ForwardEstimate(model_id);
  if (left >= needed) return std::nullopt;
  return InputError{
      p.cover.input, "deadline",
      "not started: the invocation's deadline is " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) +
          " ms away, and a model run and the answer need about " + std::to_string(needed.count()) +
          " ms"};
}

Status Pipeline::ReadUnread(Loaded& source) {
  if (!source.unread) return Status::OK();
  SPARKIFY_ASSIGN_OR_RETURN(source.bytes,
                            env_.store->Get(source.input.value, options_.max_key_bytes));
  source.unread = false;
  source.sha256 = Sha256Hex(source.bytes);  // what was read, even if it changed since its HEAD
  return Status::OK();
}

void Pipeline::MakeCutout(CutoutPlan& p, vision::Segmenter& segmenter,
                          const vision::CutOutOptions& cut_options, PipelineStats* stats) {
  const char* stage = "read";
  try {
    MakeCutoutSteps(p, segmenter, cut_options, stats, &stage);
  } catch (const std::bad_alloc&) {
    p.error = InputError{p.cover.input, stage, "out of memory"};
  } catch (const std::exception& e) {
    p.error = InputError{p.cover.input, stage, std::string("internal error: ") + e.what()};
  } catch (...) {
    p.error = InputError{p.cover.input, stage, "internal error"};
  }
}

void Pipeline::MakeCutoutSteps(CutoutPlan& p, vision::Segmenter& segmenter,
                               const vision::CutOutOptions& cut_options, PipelineStats* stats,
                               const char** stage_out) {
  Loaded& source = *p.source;
  const char*& stage = *stage_out;
  auto fail = [&](const Status& s) {
    p.error = InputError{p.cover.input, stage, s.message().empty() ? s.ToString() : s.message()};
  };
  if (Status read = ReadUnread(source); !read.ok()) return fail(read);
  stage = "decode";
  auto image = vision::DecodeImage(source.bytes, options_.decode_limits);
  if (!image.ok()) return fail(image.status());
  stage = "segment";
  const std::string model_id = segmenter.ModelId();
  auto started = std::chrono::steady_clock::now();
  Result<vision::Mask> mask = Status::Internal("not run");
  {
    std::lock_guard lock(model_mu_);
    mask = segmenter.Saliency(*image);
  }
  RecordForward(model_id, std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started));
  if (!mask.ok()) return fail(mask.status());
  ++stats->segmented;
  auto cut = vision::CutOut(*image, *mask, cut_options);
  if (!cut.ok()) return fail(cut.status());
  // The cover's palette and fingerprint go with the cut-out, for the collages to come (a
  // cover whose palette cannot be computed is cut out all the same).
  if (!source.summarised) (void)Summarise(*image, source);
  CutoutMeta meta;
  meta.foreground_share = StoredScore(cut->foreground_share);
  meta.mask_quality = StoredScore(cut->quality.score);
  meta.width = cut->width;
  meta.height = cut->height;
  meta.model = model_id;
  meta.source_sha256 = source.sha256;
  if (source.summarised) {
    meta.palette = source.palette;
    meta.fingerprint = source.fingerprint;
  }
  stage = "store";
  const std::string key = CutoutKey(source.sha256, model_id);
  Status put = env_.store->Put(key, cut->png, "image/png", ToMetadata(meta));
  if (!put.ok()) {
    return fail(Status::Unavailable("cannot store the cut-out in " + env_.store->Describe() + ": " +
                                    put.message()));
  }
  p.cover.cutout_key = key;
  p.cover.foreground_share = meta.foreground_share;
  p.cover.mask_quality = meta.mask_quality;
  p.cover.cutout_width = cut->width;
  p.cover.cutout_height = cut->height;
  p.cover.cropped =
      ShownCutOut(meta.foreground_share, meta.mask_quality, cut_options.crop_threshold);
}

Status Pipeline::RunCutouts(std::vector<CutoutPlan>& plans, vision::Segmenter& segmenter,
                            double threshold, TimePoint deadline, PipelineResult* result) {
  const std::string model_id = segmenter.ModelId();
  result->stats.model = model_id;
  vision::CutOutOptions cut_options;
  cut_options.crop_threshold = threshold;
  cut_options.png_compression = options_.png_compression;
  for (CutoutPlan& p : plans) {
    if (!p.wanted) continue;
    try {
      auto stored = UseStoredCutout(p, CutoutKey(p.source->sha256, model_id), threshold);
      if (!stored.ok()) return stored.status();  // the bucket cannot be read: stop here
      if (*stored) {
        ++result->stats.cache_hits;
      } else if (auto late = StartsInTime(p, model_id, deadline)) {
        p.error = std::move(late);
      } else {
        MakeCutout(p, segmenter, cut_options, &result->stats);
      }
    } catch (const std::bad_alloc&) {  // from the HEAD (MakeCutout catches its own)
      p.error = InputError{p.cover.input, "store", "out of memory"};
    } catch (const std::exception& e) {
      p.error = InputError{p.cover.input, "store", std::string("internal error: ") + e.what()};
    } catch (...) {
      p.error = InputError{p.cover.input, "store", "internal error"};
    }
    p.source->bytes = std::string();  // done with this input
  }
  return Status::OK();
}

}  // namespace sparkify::function
