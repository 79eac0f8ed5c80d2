// SegmenterSource: the segmentation model at a given input size, for the pipeline; and
// ModelCache, which loads OpenCvSegmenters from one manifest, once per size, and keeps them
// for the life of the process (the original app reloaded its model for every image).
//
// Thread-safety: ForSize may be called concurrently; a load holds a mutex, so concurrent
// callers for a new size wait for one load. The returned segmenters are thread-safe
// (vision/segmenter.h) and stay valid while the caller holds them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "vision/segmenter.h"

namespace sparkify::function {

class SegmenterSource {
 public:
  virtual ~SegmenterSource() = default;
  // The model at input side `size`; 0 means default_size().
  virtual Result<std::shared_ptr<vision::Segmenter>> ForSize(int size) = 0;
  virtual int default_size() const = 0;
};

struct ModelCacheOptions {
  std::string manifest_path;  // REQUIRED: a "sparkify-model/1" manifest
  int default_size = 0;       // 0: the manifest's default_size (1024 for IS-Net)
  int num_threads = 0;        // OpenCV threads (vision::SegmenterOptions::num_threads)
  // Sizes kept loaded at once (each IS-Net copy holds ~180 MB of weights); loading one more
  // drops the least recently used other than the default. Default: 2.
  int max_loaded = 2;
};

class ModelCache final : public SegmenterSource {
 public:
  // Loads the default size now, so a missing or corrupt model fails here (start-up), with
  // OpenCvSegmenter::Load's errors.
  static Result<std::unique_ptr<ModelCache>> Open(const ModelCacheOptions& options);

  // Sizes other than the default are loaded on first use (InvalidArgument when the model
  // does not accept that size).
  Result<std::shared_ptr<vision::Segmenter>> ForSize(int size) override;
  int default_size() const override { return default_size_; }
  // The manifest's model name ("isnet-general-medium-fp32").
  const std::string& model_name() const { return model_name_; }

 private:
  explicit ModelCache(ModelCacheOptions options) : options_(std::move(options)) {}
  ModelCacheOptions options_;
  int default_size_ = 0;
  std::string model_name_;
  std::mutex mu_;
  std::map<int, std::shared_ptr<vision::Segmenter>> loaded_;
  std::map<int, uint64_t> last_used_;
  uint64_t tick_ = 0;
};

}  // namespace sparkify::function
