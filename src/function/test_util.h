// Test-only helpers of sparkify_function's tests: where the model and the sample photos are
// (SPARKIFY_CACHE, which ctest sets; a missing model or sample FAILS the test: run
// scripts/setup.sh), hand-made bad inputs, an in-process `sparkify store` (DiskStore +
// IdentityStore + S3Service on an http::Server, wired as src/cli/store_cmd.cpp does) with an
// S3Client for it, and a segmenter wrapper that counts model runs.
#pragma once

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "diskstore/disk_store.h"
#include "function/models.h"
#include "function/object_store.h"
#include "http/http.h"
#include "iam/identity.h"
#include "s3client/s3client.h"
#include "store/s3_service.h"
#include "vision/test_util.h"

namespace sparkify::function::testing {

using vision::testing::CacheDir;
using vision::testing::ModelManifestPath;
using vision::testing::ReadFile;
using vision::testing::SamplePath;

inline std::string Sample(const std::string& file) { return ReadFile(SamplePath(file)); }

// The photos of the sample set that are whole images (truncated.jpg is not).
inline const std::vector<std::string>& GoodSamples() {
  static const std::vector<std::string> files = {
      "astronaut.png", "chelsea.png", "coffee.png",   "rocket.jpg",
      "camera.png",    "coins.png",   "clock_motion.png", "horse.png",
      "hubble_deep_field.jpg", "retina.jpg", "ihc.png", "logo.png"};
  return files;
}

// A PNG header claiming w x h RGB pixels, then an empty IDAT: a decompression bomb's header.
inline std::string PngHeaderOnly(uint32_t w, uint32_t h) {
  using vision::testing::PngChunk;
  return vision::testing::PngSignature() + vision::testing::Ihdr(w, h, 8, 2) +
         PngChunk("IDAT", "") + PngChunk("IEND", "");
}

inline std::string TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  char* dir = ::mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

// A real store in this process, on an ephemeral loopback port, with one bucket.
class InProcessStore {
 public:
  static constexpr const char* kBucket = "sparkify";

  InProcessStore() {
    dir_ = TempDir("sparkify-fn-store-");
    diskstore::DiskStoreOptions disk_options;
    disk_options.data_dir = dir_;
    auto disk = diskstore::DiskStore::Open(disk_options);
    if (!disk.ok()) {
      ADD_FAILURE() << disk.status().ToString();
      return;
    }
    disk_ = std::move(*disk);
    EXPECT_TRUE(disk_->CreateBucket(kBucket).ok());
    root_ = GenerateRoot();
    auto ids = iam::IdentityStore::Open(dir_, root_);
    if (!ids.ok()) {
      ADD_FAILURE() << ids.status().ToString();
      return;
    }
    identities_ = std::move(*ids);
    service_ = std::make_unique<store::S3Service>(disk_.get(), identities_.get(),
                                                  store::S3ServiceOptions{});
    http::ServerOptions server_options;
    server_options.render_error = &store::S3Service::RenderServerError;
    auto server = http::Server::Start(
        server_options, [this](http::Request& req) { return service_->Handle(req); });
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return;
    }
    server_ = std::move(*server);
    s3client::ClientOptions client_options;
    client_options.endpoint = endpoint();
    client_options.addressing = s3client::Addressing::kPath;
    client_options.credentials = root_;
    client_ = std::make_shared<s3client::S3Client>(client_options);
    objects_ = std::make_unique<S3ObjectStore>(client_, kBucket);
  }
  ~InProcessStore() {
    if (server_) server_->Stop();
    server_.reset();
    service_.reset();
    identities_.reset();
    disk_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0);
  }
  s3client::S3Client& client() { return *client_; }
  S3ObjectStore& objects() { return *objects_; }
  const sigv4::Credentials& root() const { return root_; }
  void Put(const std::string& key, const std::string& body) {
    auto r = client_->PutObject(kBucket, key, body);
    ASSERT_TRUE(r.ok()) << key << ": " << r.status().ToString();
  }

 private:
  static sigv4::Credentials GenerateRoot() { return iam::GenerateCredentials(); }

  std::string dir_;
  sigv4::Credentials root_;
  std::unique_ptr<diskstore::DiskStore> disk_;
  std::unique_ptr<iam::IdentityStore> identities_;
  std::unique_ptr<store::S3Service> service_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<s3client::S3Client> client_;
  std::unique_ptr<S3ObjectStore> objects_;
};

// Counts model runs of whatever segmenters `inner` hands out.
class CountingModels final : public SegmenterSource {
 public:
  explicit CountingModels(SegmenterSource* inner) : inner_(inner) {}

  Result<std::shared_ptr<vision::Segmenter>> ForSize(int size) override {
    auto seg = inner_->ForSize(size);
    if (!seg.ok()) return seg.status();
    return std::shared_ptr<vision::Segmenter>(std::make_shared<Counting>(*seg, &runs_));
  }
  int default_size() const override { return inner_->default_size(); }
  int runs() const { return runs_.load(); }

 private:
  class Counting final : public vision::Segmenter {
   public:
    Counting(std::shared_ptr<vision::Segmenter> inner, std::atomic<int>* runs)
        : inner_(std::move(inner)), runs_(runs) {}
    Result<vision::Mask> Saliency(const vision::Image& image) override {
      ++*runs_;
      return inner_->Saliency(image);
    }
    std::string ModelId() const override { return inner_->ModelId(); }

   private:
    std::shared_ptr<vision::Segmenter> inner_;
    std::atomic<int>* runs_;
  };
  SegmenterSource* inner_;
  std::atomic<int> runs_{0};
};

}  // namespace sparkify::function::testing
