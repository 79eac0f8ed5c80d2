// SegmenterSource: the segmentation model at a given input size, for the pipeline; and
// ModelCache, which loads the model from one manifest once, for the life of the process (the
// original app reloaded its model for every image), and hands out views of it per input size
// that share its engine (one copy of the weights; plans for the sizes used most recently).
//
// Thread-safety: ForSize may be called concurrently. The returned segmenters are thread-safe
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
  std::string manifest_path;  // REQUIRED: a "sparkify-model/2" manifest
  int default_size = 0;       // 0: the manifest's default_size (1024 for IS-Net)
  int num_threads = 0;        // engine threads (vision::SegmenterOptions::num_threads)
  std::string precision = "fp32";  // vision::SegmenterOptions::precision
  bool huge_pages = true;          // vision::SegmenterOptions::huge_pages
};

class ModelCache final : public SegmenterSource {
 public:
  // Loads the model and plans the default size now, so a missing or corrupt model fails here
  // (start-up), with GraphSegmenter::Load's errors.
  static Result<std::unique_ptr<ModelCache>> Open(const ModelCacheOptions& options);

  // Sizes other than the default are planned on first use (InvalidArgument when the model
  // does not accept that size).
  Result<std::shared_ptr<vision::Segmenter>> ForSize(int size) override;
  int default_size() const override { return default_size_; }
  // The manifest's model name ("isnet-general-medium").
  const std::string& model_name() const { return model_name_; }

 private:
  explicit ModelCache(ModelCacheOptions options) : options_(std::move(options)) {}
  ModelCacheOptions options_;
  int default_size_ = 0;
  std::string model_name_;
  std::shared_ptr<vision::GraphSegmenter> default_;
  std::mutex mu_;
  std::map<int, std::shared_ptr<vision::Segmenter>> loaded_;  // views: a few bytes each
};

}  // namespace sparkify::function
