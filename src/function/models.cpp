#include "function/models.h"

#include <cstdint>

namespace sparkify::function {

Result<std::unique_ptr<ModelCache>> ModelCache::Open(const ModelCacheOptions& options) {
  if (options.manifest_path.empty()) return Status::InvalidArgument("no model manifest given");
  std::unique_ptr<ModelCache> cache(new ModelCache(options));
  vision::SegmenterOptions so;
  so.input_size = options.default_size;
  so.num_threads = options.num_threads;
  auto seg = vision::OpenCvSegmenter::Load(options.manifest_path, so);
  if (!seg.ok()) return seg.status();
  cache->default_size_ = (*seg)->input_size();
  cache->model_name_ = (*seg)->manifest().name;
  cache->loaded_[cache->default_size_] = std::shared_ptr<vision::Segmenter>(std::move(*seg));
  cache->last_used_[cache->default_size_] = 0;
  return cache;
}

Result<std::shared_ptr<vision::Segmenter>> ModelCache::ForSize(int size) {
  if (size == 0) size = default_size_;
  std::lock_guard lock(mu_);
  last_used_[size] = ++tick_;
  if (auto it = loaded_.find(size); it != loaded_.end()) return it->second;
  // Make room: drop the least recently used size other than the default.
  while (static_cast<int>(loaded_.size()) >= std::max(1, options_.max_loaded)) {
    int victim = 0;
    uint64_t oldest = UINT64_MAX;
    for (const auto& [s, seg] : loaded_) {
      if (s != default_size_ && last_used_[s] < oldest) {
        oldest = last_used_[s];
        victim = s;
      }
    }
    if (victim == 0) break;
    loaded_.erase(victim);  // callers holding it keep it alive until they finish
  }
  vision::SegmenterOptions so;
  so.input_size = size;
  so.num_threads = options_.num_threads;
  auto seg = vision::OpenCvSegmenter::Load(options_.manifest_path, so);
  if (!seg.ok()) {
    last_used_.erase(size);
    return seg.status();
  }
  std::shared_ptr<vision::Segmenter> shared(std::move(*seg));
  loaded_[size] = shared;
  return shared;
}

}  // namespace sparkify::function
