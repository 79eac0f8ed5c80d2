// Test-only fakes for the pipeline's side effects, for what a real thing cannot do on demand:
// an in-memory bucket that can fail, a fetcher serving a table of bytes, and a "model" that
// marks a centred rectangle (no weights, instant).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <opencv2/imgproc.hpp>

#include "common/crypto.h"
#include "fetch/fetcher.h"
#include "function/models.h"
#include "function/object_store.h"

namespace sparkify::function::testing {

class MemoryStore final : public ObjectStore {
 public:
  struct Object {
    std::string body;
    std::string content_type;
    ObjectMetadata metadata;
  };
  Result<std::optional<ObjectHead>> Head(const std::string& key) override {
    std::lock_guard lock(mu_);
    ++heads;
    if (fail_heads) return Status::Unavailable("HEAD failed (injected)");
    auto it = objects.find(key);
    if (it == objects.end()) return std::optional<ObjectHead>();
    return std::optional<ObjectHead>(
        ObjectHead{it->second.body.size(), it->second.content_type, it->second.metadata,
                   checksums ? Sha256Hex(it->second.body) : std::string()});
  }
  Result<std::string> Get(const std::string& key, uint64_t max_bytes) override {
    std::lock_guard lock(mu_);
    ++gets;
    if (auto next = replace_before_get.find(key); next != replace_before_get.end()) {
      objects[key].body = next->second;  // overwritten between a HEAD and this GET
      replace_before_get.erase(next);
    }
    auto it = objects.find(key);
    if (it == objects.end()) return Status::NotFound("[HTTP 404 NoSuchKey] no such key " + key);
    if (it->second.body.size() > max_bytes) return Status::ResourceExhausted("too large");
    return it->second.body;
  }
  Status Put(const std::string& key, std::string_view body, const std::string& content_type,
             const ObjectMetadata& metadata) override {
    std::lock_guard lock(mu_);
    ++puts;
    if (fail_puts) return Status::Unavailable("PUT failed (injected)");
    objects[key] = Object{std::string(body), content_type, metadata};
    return Status::OK();
  }
  std::string Describe() const override { return "memory://bucket"; }

  std::mutex mu_;
  std::map<std::string, Object> objects;
  int heads = 0, gets = 0, puts = 0;
  bool fail_heads = false, fail_puts = false;
  // HEADs give every object's SHA-256, as S3 does for objects PUT with x-amz-checksum-sha256.
  bool checksums = false;
  // key -> the bytes the object has by the time it is read (once).
  std::map<std::string, std::string> replace_before_get;
};

class TableFetcher final : public fetch::ImageFetcher {
 public:
  Result<fetch::FetchedImage> Fetch(const std::string& url) override {
    ++fetches;
    std::lock_guard lock(mu_);
    auto it = bodies.find(url);
    if (it == bodies.end()) return Status::NotFound("HTTP 404 (no such image)");
    return fetch::FetchedImage{it->second, "image/png", url, 0};
  }
  Result<fetch::FetchedImage> FetchWithin(const std::string& url,
                                          std::chrono::milliseconds budget) override {
    {
      std::lock_guard lock(mu_);
      budgets.push_back(budget);
    }
    return Fetch(url);
  }
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> budgets;  // of FetchWithin calls
  std::map<std::string, std::string> bodies;
  std::atomic<int> fetches{0};
};

// A "model" whose mask is a centred rectangle covering `share` of the image: crisp, or (with
// soft_odd, for images whose top-left pixel has an odd red value) a low-confidence smear of
// 0.55 inside and 0.3 around, the kind of mask that must never become a cut-out.
class RectSegmenter final : public vision::Segmenter {
 public:
  RectSegmenter(double share, int size, bool soft_odd = false)
      : share_(share), size_(size), soft_odd_(soft_odd) {}
  Result<vision::Mask> Saliency(const vision::Image& image) override {
    ++runs;
    const bool soft = soft_odd_ && image.pixels.at<cv::Vec3b>(0, 0)[0] % 2 == 1;
    cv::Mat alpha(image.height(), image.width(), CV_32FC1, cv::Scalar(soft ? 0.3f : 0.0f));
    double side = std::sqrt(share_);
    int w = static_cast<int>(image.width() * side), h = static_cast<int>(image.height() * side);
    alpha(cv::Rect((image.width() - w) / 2, (image.height() - h) / 2, w, h))
        .setTo(soft ? 0.55f : 1.0f);
    return vision::Mask{alpha};
  }
  std::string ModelId() const override { return "rect@" + std::to_string(size_); }
  std::atomic<int> runs{0};

 private:
  double share_;
  int size_;
  bool soft_odd_;
};

class RectModels final : public SegmenterSource {
 public:
  explicit RectModels(double share, bool soft_odd = false) : share_(share), soft_odd_(soft_odd) {}
  Result<std::shared_ptr<vision::Segmenter>> ForSize(int size) override {
    if (size == 0) size = 1024;
    if (size == 320) return Status::InvalidArgument("input size 320 refused (test)");
    std::lock_guard lock(mu_);
    auto& seg = by_size_[size];
    if (!seg) seg = std::make_shared<RectSegmenter>(share_, size, soft_odd_);
    return std::shared_ptr<vision::Segmenter>(seg);
  }
  int default_size() const override { return 1024; }
  int runs() {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto& [s, seg] : by_size_) n += seg->runs.load();
    return n;
  }

 private:
  double share_;
  bool soft_odd_;
  std::mutex mu_;
  std::map<int, std::shared_ptr<RectSegmenter>> by_size_;
};

}  // namespace sparkify::function::testing
