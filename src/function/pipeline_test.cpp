// The pipeline on the real sample photos with the real IS-Net model (512 px for speed, one
// case at 1024), against a real store in this process: cut-outs land in the bucket under
// content-addressed keys, a second run skips the model, bad inputs are reported while the
// others succeed. The model and the samples come from SPARKIFY_CACHE; missing ones FAIL.
#include <gtest/gtest.h>

#include <regex>

#include "common/crypto.h"
#include "fetch/fetcher.h"
#include "function/pipeline.h"
#include "function/test_util.h"
#include "httpclient/test_util.h"
#include "vision/image.h"

namespace sparkify::function {
namespace {

using httpclient::testing::RawHttpServer;
using testing::CountingModels;
using testing::InProcessStore;
using testing::Sample;

class PipelineTest : public ::testing::Test {
 protected:
  // One model for the suite: loading it takes seconds.
  static void SetUpTestSuite() {
    ModelCacheOptions o;
    o.manifest_path = testing::ModelManifestPath();
    o.default_size = 512;
    auto cache = ModelCache::Open(o);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString() << " (run scripts/setup.sh)";
    models_ = cache->release();
  }
  static void TearDownTestSuite() {
    delete models_;
    models_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(models_, nullptr) << "the model did not load";
    counting_ = std::make_unique<CountingModels>(models_);
    fetch::FetchOptions fo;
    fo.allowed_endpoints = {"127.0.0.1:" + std::to_string(images_.port())};
    fetcher_ = std::make_unique<fetch::HttpFetcher>(fo);
  }

  Pipeline Make() {
    PipelineEnv env;
    env.store = &store_.objects();
    env.fetcher = fetcher_.get();
    env.models = counting_.get();
    return Pipeline(env, {});
  }
  // Serves a sample at /NAME from the loopback image server.
  std::string Serve(const std::string& file) {
    std::string bytes = Sample(file);
    std::string type = file.ends_with(".jpg") ? "image/jpeg" : "image/png";
    images_.On("/" + file, [bytes, type](int fd, const std::string&) {
      RawHttpServer::Respond(fd, 200, type, bytes);
    });
    return images_.Url("/" + file);
  }
  // The stored cut-out: its metadata share, and the PNG decoded.
  void ExpectStoredCutout(const CoverResult& c, int width, int height) {
    auto head = store_.client().HeadObject(InProcessStore::kBucket, c.cutout_key);
    ASSERT_TRUE(head.ok()) << c.cutout_key << ": " << head.status().ToString();
    EXPECT_EQ(head->content_type, "image/png");
    bool has_share = false;
    for (const auto& [k, v] : head->metadata) {
      if (k == "foreground-share") {
        has_share = true;
        EXPECT_NEAR(std::stod(v), *c.foreground_share, 1e-5);
      }
    }
    EXPECT_TRUE(has_share);
    auto png = store_.client().GetObject(InProcessStore::kBucket, c.cutout_key);
    ASSERT_TRUE(png.ok());
    auto image = vision::DecodeImage(png->body);
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_TRUE(image->has_alpha());
    // Cropped to its subject: within the cover, and the size the answer gives.
    EXPECT_LE(image->width(), width);
    EXPECT_LE(image->height(), height);
    EXPECT_EQ(image->width(), c.cutout_width);
    EXPECT_EQ(image->height(), c.cutout_height);
  }

  static ModelCache* models_;
  InProcessStore store_;
  RawHttpServer images_;
  std::unique_ptr<CountingModels> counting_;
  std::unique_ptr<fetch::HttpFetcher> fetcher_;
};

ModelCache* PipelineTest::models_ = nullptr;

TEST_F(PipelineTest, TwelveSamplesCollageThenTheSecondRunSkipsTheModel) {
  FunctionRequest req;
  std::map<std::string, std::string> bytes_of;  // input -> bytes
  int rank = 0;
  for (const std::string& file : testing::GoodSamples()) {
    std::string bytes = Sample(file);
    if (rank % 4 == 0) {  // a third come by URL, the rest from the bucket
      std::string url = Serve(file);
      req.inputs.push_back(InputRef{InputRef::Kind::kUrl, url, rank++});
      bytes_of[url] = bytes;
    } else {
      store_.Put("covers/" + file, bytes);
      req.inputs.push_back(InputRef{InputRef::Kind::kKey, "covers/" + file, rank++});
      bytes_of["covers/" + file] = bytes;
    }
  }
  ASSERT_EQ(req.inputs.size(), 12u);
  req.options.seed = 42;
  Pipeline p = Make();
  auto r = p.Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& e : r->errors)
    ADD_FAILURE() << e.input.value << ": " << e.stage << ": " << e.reason;
  EXPECT_EQ(r->cropped.size() + r->uncropped.size(), 9u);
  EXPECT_EQ(counting_->runs(), 9);  // every cover of the collage: its mask decides
  EXPECT_EQ(r->stats.model, "isnet-general-medium-fp32@512");
  const std::regex key_shape("cutouts/[0-9a-f]{64}-isnet-general-medium-fp32-512\\.png");
  int cut_outs = 0;
  for (const auto* list : {&r->cropped, &r->uncropped}) {
    for (const CoverResult& c : *list) {
      if (c.cutout_key.empty()) continue;
      ++cut_outs;
      EXPECT_TRUE(std::regex_match(c.cutout_key, key_shape)) << c.cutout_key;
      EXPECT_EQ(c.cutout_key,
                p.CutoutKey(Sha256Hex(bytes_of[c.input.value]), "isnet-general-medium-fp32@512"));
      auto original = vision::DecodeImage(bytes_of[c.input.value]);
      ASSERT_TRUE(original.ok());
      ExpectStoredCutout(c, original->width(), original->height());
    }
  }
  EXPECT_EQ(cut_outs, 9);
  // At most 60% are shown cut out, and only confident subjects; the fogs of the Hubble and
  // the slide, when chosen, are shown whole.
  EXPECT_LE(r->cropped.size(), 5u);
  EXPECT_GE(r->cropped.size(), 3u);
  for (const CoverResult& c : r->cropped) {
    EXPECT_GE(*c.foreground_share, 0.10);
    EXPECT_GE(*c.mask_quality, 0.5) << c.input.value;
  }
  for (const CoverResult& c : r->uncropped) {
    if (c.input.value.find("hubble") != std::string::npos ||
        c.input.value.find("ihc") != std::string::npos) {
      EXPECT_LT(*c.mask_quality, 0.5) << c.input.value;
    }
  }

  auto again = p.Run(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(counting_->runs(), 9) << "the second run must find every cut-out by HEAD";
  EXPECT_EQ(again->stats.cache_hits, 9);
  EXPECT_EQ(again->stats.segmented, 0);
  ASSERT_EQ(again->cropped.size(), r->cropped.size());
  for (size_t i = 0; i < r->cropped.size(); ++i) {
    EXPECT_EQ(again->cropped[i].cutout_key, r->cropped[i].cutout_key);
    EXPECT_DOUBLE_EQ(*again->cropped[i].foreground_share, *r->cropped[i].foreground_share);
  }
}

TEST_F(PipelineTest, BadCoversAmongGoodOnesAreReportedAndTheOthersSucceed) {
  FunctionRequest req;
  req.op = Operation::kSegment;
  store_.Put("covers/chelsea.png", Sample("chelsea.png"));
  store_.Put("bad/truncated.jpg", Sample("truncated.jpg"));
  store_.Put("bad/notes.txt", "these are notes, not an image\n");
  store_.Put("bad/bomb.png", testing::PngHeaderOnly(30000, 30000));
  req.inputs = {InputRef{InputRef::Kind::kKey, "covers/chelsea.png", 0},
                InputRef{InputRef::Kind::kKey, "bad/truncated.jpg", 1},
                InputRef{InputRef::Kind::kUrl, Serve("coffee.png"), 2},
                InputRef{InputRef::Kind::kKey, "bad/notes.txt", 3},
                InputRef{InputRef::Kind::kKey, "bad/bomb.png", 4},
                InputRef{InputRef::Kind::kKey, "bad/missing.png", 5}};
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cropped.size(), 2u) << "the cat and the coffee cup";
  EXPECT_EQ(r->cropped[0].input.value, "covers/chelsea.png");
  EXPECT_EQ(counting_->runs(), 2);
  ASSERT_EQ(r->errors.size(), 4u);
  EXPECT_EQ(r->errors[0].input.value, "bad/truncated.jpg");
  EXPECT_EQ(r->errors[0].stage, "decode");
  EXPECT_NE(r->errors[0].reason.find("truncated"), std::string::npos) << r->errors[0].reason;
  EXPECT_EQ(r->errors[1].stage, "decode");  // the text file
  EXPECT_EQ(r->errors[2].input.value, "bad/bomb.png");
  EXPECT_NE(r->errors[2].reason.find("30000"), std::string::npos) << r->errors[2].reason;
  EXPECT_EQ(r->errors[3].stage, "read");
  EXPECT_NE(r->errors[3].reason.find("NoSuchKey"), std::string::npos) << r->errors[3].reason;
}

TEST_F(PipelineTest, BadCoversInACollageLeaveTheRestOfTheCollage) {
  FunctionRequest req;
  int rank = 0;
  for (const char* file : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"}) {
    store_.Put(std::string("covers/") + file, Sample(file));
    req.inputs.push_back(InputRef{InputRef::Kind::kKey, std::string("covers/") + file, rank++});
  }
  store_.Put("bad/truncated.jpg", Sample("truncated.jpg"));
  req.inputs.push_back(InputRef{InputRef::Kind::kKey, "bad/truncated.jpg", rank++});
  req.inputs.push_back(InputRef{InputRef::Kind::kUrl, images_.Url("/nothing-here.jpg"), rank++});
  req.options.seed = 3;
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cropped.size() + r->uncropped.size(), 4u);
  EXPECT_EQ(counting_->runs(), 4);
  EXPECT_LE(r->cropped.size(), 2u);  // round(0.6 * 4)
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[1].stage, "fetch");
  EXPECT_NE(r->errors[1].reason.find("HTTP 404"), std::string::npos);
}

TEST_F(PipelineTest, CatAndCoffeeCupAreFoundAtFullSize1024) {
  FunctionRequest req;
  req.op = Operation::kSegment;
  req.options.size = 1024;
  store_.Put("covers/chelsea.png", Sample("chelsea.png"));
  req.inputs = {InputRef{InputRef::Kind::kKey, "covers/chelsea.png", 0}};
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cropped.size(), 1u);
  const CoverResult& cat = r->cropped[0];
  EXPECT_TRUE(cat.cutout_key.ends_with("-isnet-general-medium-fp32-1024.png")) << cat.cutout_key;
  // The cat fills a good part of the frame, not all of it.
  EXPECT_GT(*cat.foreground_share, 0.2);
  EXPECT_LT(*cat.foreground_share, 0.9);
  ExpectStoredCutout(cat, 451, 300);
}

}  // namespace
}  // namespace sparkify::function
