// The pipeline's first stage, several inputs at a time: every input's hash, and for a collage
// the cover's palette and fingerprint. A key input whose store keeps its SHA-256 is not read
// for them when its cut-out already carries its palette; the others are fetched or read from
// the bucket, hashed, and (collage) decoded.
#include <exception>
#include <new>
#include <thread>

#include "collage/image.h"
#include "common/crypto.h"
#include "function/cutout_meta.h"
#include "function/internal/parallel.h"
#include "function/internal/pipeline_internal.h"
#include "vision/cutout.h"

namespace sparkify::function {
namespace {

InputError ErrorOf(const InputRef& in, std::string stage, const Status& s) {
  return InputError{in, std::move(stage), s.message().empty() ? s.ToString() : s.message()};
}

// The cover shrunk for its palette. RGB goes through OpenCV's area resize; RGBA through the
// collage thumbnailer, which averages premultiplied so transparent pixels (not counted by the
// palette) do not tint their neighbours.
Result<collage::Image> PaletteThumbnail(const vision::Image& image, int side) {
  if (!image.has_alpha()) {
    auto thumb = vision::ThumbnailRgb(image, side);
    if (!thumb.ok()) return thumb.status();
    return collage::Image{thumb->width, thumb->height, collage::PixelFormat::kRgb,
                          std::move(thumb->data)};
  }
  const cv::Mat m = image.pixels.isContinuous() ? image.pixels : image.pixels.clone();
  collage::Image rgba{m.cols, m.rows, collage::PixelFormat::kRgba,
                      std::vector<uint8_t>(m.data, m.data + m.total() * m.elemSize())};
  return collage::Thumbnail(rgba, side);
}

}  // namespace

bool Pipeline::KnownWithoutReading(Loaded& l, const std::string& model_id) {
  auto head = env_.store->Head(l.input.value);
  if (!head.ok() || !head->has_value() || (*head)->sha256.empty() ||
      (*head)->size > options_.max_key_bytes) {
    return false;  // reading it says why, if anything is wrong
  }
  l.sha256 = (*head)->sha256;
  l.unread = true;
  if (model_id.empty()) return true;
  auto cutout = env_.store->Head(CutoutKey(l.sha256, model_id));
  if (!cutout.ok()) return false;  // the cut-out stage reports a bucket it cannot read
  l.cutout_looked_up = true;
  l.cutout = std::move(*cutout);
  if (!l.cutout) return false;
  std::optional<CutoutMeta> meta = ParseCutoutMeta(*l.cutout);
  if (!meta || !meta->palette || !meta->fingerprint) return false;
  l.palette = std::move(*meta->palette);
  l.fingerprint = *meta->fingerprint;
  l.summarised = true;
  return true;
}

bool Pipeline::Obtain(Loaded& l, TimePoint deadline) {
  const char* stage = l.input.is_url() ? "fetch" : "read";
  if (!l.input.is_url()) {
    auto got = env_.store->Get(l.input.value, options_.max_key_bytes);
    if (!got.ok()) {
      l.error = ErrorOf(l.input, stage, got.status());
      return false;
    }
    l.bytes = std::move(*got);
    l.unread = false;
    return true;
  }
  if (env_.fetcher == nullptr) {
    l.error = InputError{l.input, stage, "URL fetching is off in this function"};
    return false;
  }
  Result<fetch::FetchedImage> got = Status::DeadlineExceeded("");
  if (deadline == TimePoint{}) {
    got = env_.fetcher->Fetch(l.input.value);
  } else {
    auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - env_.clock->Now() - options_.deadline_reserve);
    if (budget.count() <= 0) {
      l.error =
          InputError{l.input, "deadline", "not fetched: the invocation's time limit is too close"};
      return false;
    }
    got = env_.fetcher->FetchWithin(l.input.value, budget);
  }
  if (!got.ok()) {
    l.error = ErrorOf(l.input, stage, got.status());
    return false;
  }
  l.bytes = std::move(got->body);
  return true;
}

Status Pipeline::Summarise(const vision::Image& image, Loaded& l) const {
  SPARKIFY_ASSIGN_OR_RETURN(collage::Image pixels, PaletteThumbnail(image, options_.palette_side));
  collage::PaletteOptions popts = options_.palette;
  popts.max_side = std::max(popts.max_side, options_.palette_side);
  SPARKIFY_ASSIGN_OR_RETURN(l.palette, collage::ComputePalette(pixels, popts));
  auto fingerprint = collage::FingerprintOf(pixels);
  if (fingerprint.ok()) l.fingerprint = *fingerprint;
  l.summarised = true;
  return Status::OK();
}

std::vector<Pipeline::Loaded> Pipeline::LoadInputs(const FunctionRequest& request,
                                                   const std::string& model_id,
                                                   TimePoint deadline) {
  std::vector<Loaded> loaded(request.inputs.size());
  const bool collage = request.op == Operation::kCollage;
  int cpus = options_.cpu_concurrency > 0 ? options_.cpu_concurrency
                                          : static_cast<int>(std::thread::hardware_concurrency());
  CpuGate gate(cpus > 0 ? cpus : 1);

  auto load_one = [&](size_t i) {
    Loaded& l = loaded[i];
    l.input = request.inputs[i];
    const char* stage = l.input.is_url() ? "fetch" : "read";
    try {
      if (!l.input.is_url() && KnownWithoutReading(l, collage ? model_id : std::string())) return;
      if (!Obtain(l, deadline)) return;
      std::string sha256 = Sha256Hex(l.bytes);
      if (sha256 != l.sha256) {  // not known, or the object changed since its HEAD
        l.sha256 = std::move(sha256);
        l.cutout_looked_up = false;
        l.cutout.reset();
      }
      if (!collage) return;  // segment: decoded only when the model must run

      stage = "decode";
      CpuGate::Hold hold(gate);
      auto image = vision::DecodeImage(l.bytes, options_.decode_limits);
      if (!image.ok()) {
        l.error = ErrorOf(l.input, stage, image.status());
        return;
      }
      stage = "palette";
      Status summarised = Summarise(*image, l);
      if (!summarised.ok()) l.error = ErrorOf(l.input, stage, summarised);
    } catch (const std::bad_alloc&) {
      l.error = InputError{l.input, stage, "out of memory"};
    } catch (const std::exception& e) {
      l.error = InputError{l.input, stage, std::string("internal error: ") + e.what()};
    } catch (...) {
      l.error = InputError{l.input, stage, "internal error"};
    }
  };
  ParallelFor(loaded.size(), std::max(1, options_.fetch_concurrency), load_one);
  for (Loaded& l : loaded) {
    if (l.error) l.bytes = std::string();  // only usable inputs keep their bytes
  }
  return loaded;
}

}  // namespace sparkify::function
