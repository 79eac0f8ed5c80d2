#include "function/models.h"

#include <cstdint>

namespace sparkify::function {

Result<std::unique_ptr<ModelCache>> ModelCache::Open(const ModelCacheOptions& options) {
  if (options.manifest_path.empty()) return Status::InvalidArgument("no model manifest given");
  std::unique_ptr<ModelCache> cache(new ModelCache(options));
  vision::SegmenterOptions so;
  so.input_size = options.default_size;
  so.num_threads = options.num_threads;
  so.precision = options.precision;
  so.huge_pages = options.huge_pages;
  auto seg = vision::GraphSegmenter::Load(options.manifest_path, so);
  if (!seg.ok()) return seg.status();
  cache->default_size_ = (*seg)->input_size();
  cache->model_name_ = (*seg)->manifest().name;
  cache->default_ = std::shared_ptr<vision::GraphSegmenter>(std::move(*seg));
  cache->loaded_[cache->default_size_] = cache->default_;
  return cache;
}

Result<std::shared_ptr<vision::Segmenter>> ModelCache::ForSize(int size) {
  if (size == 0) size = default_size_;
  std::lock_guard lock(mu_);
  if (auto it = loaded_.find(size); it != loaded_.end()) return it->second;
  // Another size of the same engine: the weights are shared, and the engine keeps the plans
  // (activation arenas) of the sizes used most recently.
  SPARKIFY_ASSIGN_OR_RETURN(auto seg, default_->WithInputSize(size));
  std::shared_ptr<vision::Segmenter> shared(std::move(seg));
  loaded_[size] = shared;
  return shared;
}

}  // namespace sparkify::function
