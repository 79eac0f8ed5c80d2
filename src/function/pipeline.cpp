// The pipeline's orchestration: model, inputs, selection (collage) or not (segment),
// cut-outs, and the result's lists.
#include "function/pipeline.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "function/internal/pipeline_internal.h"

namespace sparkify::function {
namespace {

// Each picture once: an input with the same bytes as a better-ranked one, or a near-identical
// fingerprint (the same picture re-encoded or resized), is left out as a duplicate.
void DropDuplicates(std::vector<Pipeline::Loaded>& loaded) {
  std::vector<size_t> order(loaded.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return loaded[a].input.rank < loaded[b].input.rank;
  });
  std::vector<const Pipeline::Loaded*> kept;
  for (size_t i : order) {
    Pipeline::Loaded& l = loaded[i];
    if (l.error) continue;
    for (const Pipeline::Loaded* k : kept) {
      if (k->sha256 == l.sha256 || collage::NearDuplicates(k->fingerprint, l.fingerprint)) {
        l.error = InputError{l.input, "duplicate", "the same picture as " + k->input.value};
        l.bytes = std::string();
        break;
      }
    }
    if (!l.error) kept.push_back(&l);
  }
}

// Of the collage's covers whose mask is a confident subject (cropped so far), the best
// round(fraction * n) by mask quality stay cut-outs; the others are shown whole.
void ChooseCutouts(std::vector<Pipeline::CutoutPlan>& plans, double fraction) {
  std::vector<Pipeline::CutoutPlan*> eligible;
  for (auto& p : plans) {
    if (!p.error && p.cover.cropped) eligible.push_back(&p);
  }
  std::stable_sort(eligible.begin(), eligible.end(), [](const auto* a, const auto* b) {
    return a->cover.mask_quality.value_or(0) > b->cover.mask_quality.value_or(0);
  });
  const size_t limit = static_cast<size_t>(std::lround(fraction * static_cast<double>(plans.size())));
  for (size_t i = limit; i < eligible.size(); ++i) eligible[i]->cover.cropped = false;
}

}  // namespace

Pipeline::Pipeline(PipelineEnv env, PipelineOptions options)
    : env_(env), options_(std::move(options)) {}

Result<PipelineResult> Pipeline::Run(const FunctionRequest& request, TimePoint deadline) {
  const auto started = std::chrono::steady_clock::now();
  if (env_.store == nullptr || env_.models == nullptr) {
    return Status::FailedPrecondition("the pipeline has no bucket or no model");
  }
  PipelineResult result;
  result.op = request.op;
  const double threshold = request.options.threshold.value_or(options_.threshold);

  // The model first: a size it refuses is the request's error, before any work is done.
  auto segmenter = env_.models->ForSize(request.options.size);
  if (!segmenter.ok()) return segmenter.status();

  for (const InputRef& in : request.dropped) {
    result.errors.push_back(
        InputError{in, "limit",
                   "not processed: more than max_covers=" +
                       std::to_string(request.options.max_covers) + " inputs"});
  }
  auto phase = std::chrono::steady_clock::now();
  std::vector<Loaded> loaded = LoadInputs(request, (*segmenter)->ModelId(), deadline);
  result.stats.inputs = static_cast<int>(loaded.size());
  result.stats.load_ms = MsSince(phase);

  std::vector<CutoutPlan> plans;
  if (request.op == Operation::kSegment) {
    plans = PlanSegments(loaded, &result);
  } else {
    phase = std::chrono::steady_clock::now();
    SPARKIFY_ASSIGN_OR_RETURN(plans, PlanCollage(loaded, request, &result));
    if (plans.empty()) {
      result.stats.total_ms = MsSince(started);
      return result;  // nothing usable: the errors say why
    }
    result.stats.select_ms = MsSince(phase);
  }

  phase = std::chrono::steady_clock::now();
  SPARKIFY_RETURN_IF_ERROR(RunCutouts(plans, **segmenter, threshold, deadline, &result));
  if (request.op == Operation::kCollage) ChooseCutouts(plans, options_.selection.cut_out_fraction);
  result.stats.cutout_ms = MsSince(phase);
  Collect(plans, &result);
  result.stats.total_ms = MsSince(started);
  return result;
}

std::vector<Pipeline::CutoutPlan> Pipeline::PlanSegments(std::vector<Loaded>& loaded,
                                                         PipelineResult* result) {
  std::vector<CutoutPlan> plans;
  for (Loaded& l : loaded) {
    if (l.error) {
      result->errors.push_back(*l.error);
      continue;
    }
    CutoutPlan p;
    p.source = &l;
    p.cover.input = l.input;
    p.cover.position = l.input.rank;
    p.wanted = true;
    plans.push_back(std::move(p));
  }
  return plans;
}

Result<std::vector<Pipeline::CutoutPlan>> Pipeline::PlanCollage(std::vector<Loaded>& loaded,
                                                                const FunctionRequest& request,
                                                                PipelineResult* result) {
  DropDuplicates(loaded);
  std::vector<collage::Cover> covers;
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (loaded[i].error) {
      result->errors.push_back(*loaded[i].error);
      continue;
    }
    covers.push_back(collage::Cover{std::to_string(i), loaded[i].input.rank, loaded[i].palette});
  }
  std::vector<CutoutPlan> plans;
  if (covers.empty()) return plans;
  collage::SelectionOptions selection = options_.selection;
  selection.shuffle_seed = request.options.seed.value_or(0);
  auto chosen = collage::SelectCollage(covers, selection);
  if (!chosen.ok()) {
    return Status::Internal("collage selection failed: " + chosen.status().message());
  }
  result->dominant = chosen->dominant;
  result->complementary = chosen->complementary;
  std::vector<collage::ChosenCover> order = chosen->covers;
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.shuffle_position < b.shuffle_position; });
  for (const collage::ChosenCover& c : order) {
    Loaded& l = loaded[std::stoul(c.id)];
    CutoutPlan p;
    p.source = &l;
    p.cover.input = l.input;
    p.cover.palette = c.palette;
    p.cover.score = c.score;
    p.cover.position = c.shuffle_position;
    p.wanted = true;  // every cover's mask is needed: it decides which are cut out
    plans.push_back(std::move(p));
  }
  // Covers left out of the collage need their bytes no more.
  for (Loaded& l : loaded) {
    bool kept = std::any_of(plans.begin(), plans.end(),
                            [&](const CutoutPlan& p) { return p.source == &l && p.wanted; });
    if (!kept) l.bytes = std::string();
  }
  return plans;
}

void Pipeline::Collect(std::vector<CutoutPlan>& plans, PipelineResult* result) {
  for (CutoutPlan& p : plans) {
    if (p.error) {
      result->errors.push_back(*p.error);
      if (result->op == Operation::kSegment) continue;
      p.cover.cutout_key.clear();  // a collage cover stays, uncropped
      p.cover.cropped = false;
    }
    (p.cover.cropped ? result->cropped : result->uncropped).push_back(std::move(p.cover));
  }
  std::stable_sort(
      result->errors.begin(), result->errors.end(),
      [](const InputError& a, const InputError& b) { return a.input.rank < b.input.rank; });
}

}  // namespace sparkify::function
