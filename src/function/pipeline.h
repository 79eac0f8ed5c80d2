// The AI function's pipeline, the original app's (docs/product.md) done better:
//
//   inputs    URLs fetched concurrently (ImageFetcher, fetch_concurrency at a time) and keys
//             read from the bucket (ObjectStore); each input's bytes hashed (SHA-256). A key
//             whose HEAD gives a SHA-256 the store verified (PUT with x-amz-checksum-sha256,
//             as the web app does) is not read for it: its bytes are read only if the model
//             must run.
//   collage:  for a key known by its checksum whose cut-out carries the cover's palette and
//             fingerprint (cutout_meta.h): those, without reading a pixel. Else decode
//             (vision::DecodeImage, bombs refused) -> 250 px thumbnail -> palette
//             (collage::ComputePalette) and fingerprint, cpu_concurrency covers at a time; the
//             rest of the covers go on when one fails -> each picture once (same bytes or a
//             near-identical fingerprint: the better-ranked stays) -> collage::SelectCollage
//             (12 then 9 covers, order shuffled by the request's seed)
//   cut-outs  for each cover of the collage (segment: every input), in turn: the content-addressed
//             key  <cutout_prefix><sha256 of the input bytes>-<model id>.png  (model id
//             "isnet-general-medium-fp32@1024" written "isnet-general-medium-fp32-1024"); a
//             HEAD first: when the object exists with valid scores the model is skipped; else
//             decode, segment the WHOLE image at the request's size, vision::CutOut (refined
//             edges, mask scored), and PUT the RGBA PNG (Content-Type image/png, with its
//             SHA-256, and the metadata of cutout_meta.h: scores, size, model, the cover's
//             SHA-256, palette and fingerprint).
//   choice    a cover is shown cut out only when its mask is a confident subject
//             (mask_quality >= 0.5) and its share reaches the threshold; in a collage, the
//             best round(cut_out_fraction * n) of those by mask quality (never a smear, never
//             a random pick). The others are shown whole (their PNG is stored all the same, so
//             the next request skips the model for them too).
// One input's failure (fetch, read, decode, palette, model, store) becomes an InputError in
// the result; the others go on. But a bucket that cannot be read (a HEAD refused for anything
// but a missing key: wrong or expired key, bad signature, no such bucket, unreachable, 5xx)
// stops the request before the model runs: Run returns Unavailable. With a deadline, no
// model run starts unless deadline_reserve plus the model run's expected time (the last one
// measured in this process for that model, else first_forward_estimate) is left; such covers
// are reported with stage "deadline".
//
// Thread-safety: Run may be called concurrently; model runs are serialised (one image at a
// time: a forward pass already uses every core). The environment's objects must outlive the
// pipeline and be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "collage/palette.h"
#include "collage/selection.h"
#include "common/clock.h"
#include "common/status.h"
#include "fetch/fetcher.h"
#include "function/event.h"
#include "function/models.h"
#include "function/object_store.h"
#include "function/result.h"
#include "vision/cutout.h"
#include "vision/image.h"

namespace sparkify::function {

struct PipelineOptions {
  // Foreground share from which a cut-out is used (cropped). Default: 0.10. A request's
  // options.threshold overrides it.
  double threshold = 0.10;
  // URLs fetched / keys read at once. Default: 4.
  int fetch_concurrency = 4;
  // Covers decoded and measured at once. 0 = std::thread::hardware_concurrency(). Bounds the
  // memory of decoded pixels (DecodeLimits: up to ~160 MB per cover).
  int cpu_concurrency = 0;
  // Largest object read for a key input. Default: 25 MiB (DecodeLimits' max_bytes).
  uint64_t max_key_bytes = 25u << 20;
  // JPEG covers are decoded reduced (1/2..1/8, nearly free) down to a longer side of 2048 px:
  // more than the model (1024 by default) and a collage (1080 px) can show.
  vision::DecodeLimits decode_limits = [] {
    vision::DecodeLimits limits;
    limits.reduce_to = 2048;
    return limits;
  }();
  // Palette thumbnail side. Default: 250 (the original's).
  int palette_side = 250;
  collage::PaletteOptions palette;
  // SelectCollage options; shuffle_seed is replaced by the request's seed (default 0).
  collage::SelectionOptions selection;
  int png_compression = 3;
  std::string cutout_prefix = "cutouts/";
  // With a deadline: time kept back for answering. Default: 2 s.
  std::chrono::milliseconds deadline_reserve{2000};
  // A model run's expected time before one has been measured in this process. Default: 1.5 s
  // (isnet-general-medium at 1024 takes ~0.45 s on 2 Zen 5 cores, ~3x that on older ones).
  std::chrono::milliseconds first_forward_estimate{1500};
};

// The side effects, injected.
struct PipelineEnv {
  ObjectStore* store = nullptr;       // REQUIRED: the bucket (inputs by key, cut-outs)
  fetch::ImageFetcher* fetcher = nullptr;  // null: URL inputs fail ("URL fetching is off")
  SegmenterSource* models = nullptr;  // REQUIRED
  const Clock* clock = &Clock::System();  // for the deadline
};

class Pipeline {
 public:
  Pipeline(PipelineEnv env, PipelineOptions options);

  // Runs one request. `deadline` = TimePoint{} means none.
  // Per-input failures are in the result. Errors for the whole request: InvalidArgument when
  // the model refuses the requested size; the model source's errors when a size cannot be
  // loaded; Internal when the collage selection fails; Unavailable when the bucket cannot be
  // read (the message says which bucket and why).
  Result<PipelineResult> Run(const FunctionRequest& request, TimePoint deadline = {});

  // "<cutout_prefix><sha256_hex>-<model id with '@' -> '-'>.png"
  std::string CutoutKey(std::string_view sha256_hex, std::string_view model_id) const;

  const PipelineOptions& options() const { return options_; }

 public:
  struct Loaded;      // pipeline_internal.h
  struct CutoutPlan;

 private:
  // pipeline_load.cpp. With a deadline, fetches end deadline_reserve before it.
  std::vector<Loaded> LoadInputs(const FunctionRequest& request, const std::string& model_id,
                                 TimePoint deadline);
  // A key input whose store keeps its verified SHA-256: its hash without reading it, and for
  // a collage (model_id not empty) its palette and fingerprint from its cut-out's metadata.
  // True when nothing needs reading now.
  bool KnownWithoutReading(Loaded& l, const std::string& model_id);
  // The input's bytes, fetched or read; false with l.error set when they cannot be had.
  bool Obtain(Loaded& l, TimePoint deadline);
  // The cover's palette and fingerprint from its pixels, into l.
  Status Summarise(const vision::Image& image, Loaded& l) const;
  // pipeline.cpp: what to cut out. Segment: every usable input, in rank order. Collage: each
  // picture once, then the collage's covers in shuffled order (none: nothing usable; Internal
  // when the selection fails).
  static std::vector<CutoutPlan> PlanSegments(std::vector<Loaded>& loaded, PipelineResult* result);
  Result<std::vector<CutoutPlan>> PlanCollage(std::vector<Loaded>& loaded,
                                              const FunctionRequest& request,
                                              PipelineResult* result);
  // The plans' covers and errors into the result (errors in rank order).
  static void Collect(std::vector<CutoutPlan>& plans, PipelineResult* result);
  // pipeline_cutout.cpp. Unavailable when the bucket cannot be read (nothing more is run).
  Status RunCutouts(std::vector<CutoutPlan>& plans, vision::Segmenter& segmenter, double threshold,
                    TimePoint deadline, PipelineResult* result);
  // Fills p.cover from the cut-out stored under `key`; false when there is none (or one
  // stored before masks were scored). Unavailable when the bucket cannot be read.
  Result<bool> UseStoredCutout(CutoutPlan& p, const std::string& key, double threshold);
  // The "deadline" error of a model run that would not end in time, or nullopt.
  std::optional<InputError> StartsInTime(const CutoutPlan& p, const std::string& model_id,
                                         TimePoint deadline);
  // Reads an input loaded unread (KnownWithoutReading) and hashes what it read.
  Status ReadUnread(Loaded& source);
  // Reads, decodes, segments and cuts out p's cover and PUTs the PNG; errors (exceptions too,
  // with the stage they came from) in p.error.
  void MakeCutout(CutoutPlan& p, vision::Segmenter& segmenter,
                  const vision::CutOutOptions& cut_options, PipelineStats* stats);
  // MakeCutout's steps; *stage names the one running.
  void MakeCutoutSteps(CutoutPlan& p, vision::Segmenter& segmenter,
                       const vision::CutOutOptions& cut_options, PipelineStats* stats,
                       const char** stage);
  // The expected duration of a model run of `model_id`, and the measured one of the last.
  std::chrono::milliseconds ForwardEstimate(const std::string& model_id);
  void RecordForward(const std::string& model_id, std::chrono::milliseconds took);

  PipelineEnv env_;
  PipelineOptions options_;
  std::mutex model_mu_;  // one model run at a time
  std::mutex estimate_mu_;
  std::map<std::string, std::chrono::milliseconds> last_forward_;  // by model id
};

}  // namespace sparkify::function
