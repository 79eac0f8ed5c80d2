// The pipeline's logic with fakes for the side effects (an in-memory bucket, a table fetcher, a
// rectangle "model"): selection, caching, thresholds, failures, deadlines. The real model and
// a real store are in pipeline_test.cpp.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <regex>
#include <set>

#include "common/crypto.h"
#include "function/cutout_meta.h"
#include "function/pipeline.h"
#include "function/test_fakes.h"
#include "vision/cutout.h"

namespace sparkify::function {
namespace {

using testing::MemoryStore;
using testing::RectModels;
using testing::TableFetcher;

// A cover: two colour bands, different for every i.
std::string Cover(int i) {
  cv::Mat m(60, 80, CV_8UC3);
  m(cv::Rect(0, 0, 80, 30)).setTo(cv::Scalar((i * 37) % 256, (i * 91) % 256, (i * 53) % 256));
  m(cv::Rect(0, 30, 80, 30)).setTo(cv::Scalar((i * 13) % 256, 255 - (i * 29) % 256, 40));
  auto png = vision::EncodePng(vision::Image{m});
  EXPECT_TRUE(png.ok());
  return *png;
}

InputRef Key(const std::string& k, int rank) {
  InputRef r;
  r.kind = InputRef::Kind::kKey;
  r.value = k;
  r.rank = rank;
  return r;
}
InputRef Url(const std::string& u, int rank) {
  InputRef r = Key(u, rank);
  r.kind = InputRef::Kind::kUrl;
  return r;
}

class PipelineFakeTest : public ::testing::Test {
 protected:
  PipelineFakeTest() : models_(0.3) {}

  FunctionRequest Collage(int covers, uint64_t seed = 1) {
    FunctionRequest req;
    for (int i = 0; i < covers; ++i) {
      std::string key = "covers/" + std::to_string(i) + ".png";
      store_.objects[key] = {Cover(i), "image/png", {}};
      req.inputs.push_back(Key(key, i));
    }
    req.options.seed = seed;
    return req;
  }
  Pipeline Make(PipelineOptions o = {}) {
    PipelineEnv env;
    env.store = &store_;
    env.fetcher = &fetcher_;
    env.models = &models_;
    env.clock = &clock_;
    return Pipeline(env, o);
  }
  std::set<std::string> Sources(const PipelineResult& r) {
    std::set<std::string> out;
    for (const auto& c : r.cropped) out.insert(c.input.value);
    for (const auto& c : r.uncropped) out.insert(c.input.value);
    return out;
  }

  MemoryStore store_;
  TableFetcher fetcher_;
  RectModels models_;
  ManualClock clock_{FromUnixSeconds(1700000000)};
};

TEST_F(PipelineFakeTest, TwentyCoversMakeANineCoverCollageWithFiveCutOuts) {
  Pipeline p = Make();
  FunctionRequest req = Collage(20);
  auto r = p.Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty());
  EXPECT_EQ(r->cropped.size(), 5u);
  EXPECT_EQ(r->uncropped.size(), 4u);
  ASSERT_TRUE(r->dominant && r->complementary);
  EXPECT_EQ(r->complementary->r, 255 - r->dominant->r);
  // Every cover of the collage is segmented (its mask decides); 60% are shown cut out.
  EXPECT_EQ(models_.runs(), 9);
  EXPECT_EQ(store_.puts, 9);
  EXPECT_EQ(r->stats.segmented, 9);
  EXPECT_EQ(r->stats.model, "rect@1024");
  const std::regex key_shape("cutouts/[0-9a-f]{64}-rect-1024\\.png");
  for (const CoverResult& c : r->cropped) {
    EXPECT_TRUE(std::regex_match(c.cutout_key, key_shape)) << c.cutout_key;
    EXPECT_EQ(c.cutout_key,
              p.CutoutKey(Sha256Hex(store_.objects[c.input.value].body), "rect@1024"));
    EXPECT_NEAR(*c.foreground_share, 0.3, 0.02);
    EXPECT_GE(*c.mask_quality, 0.9);  // a crisp rectangle
    EXPECT_FALSE(c.cache_hit);
    EXPECT_LT(c.position, 5);  // equal masks: the first 60% of the shuffled order
    EXPECT_FALSE(c.palette.empty());
    EXPECT_TRUE(c.score.has_value());
    const auto& stored = store_.objects[c.cutout_key];
    EXPECT_EQ(stored.content_type, "image/png");
    ASSERT_GE(stored.metadata.size(), 2u);
    EXPECT_EQ(stored.metadata[0].first, "foreground-share");
    EXPECT_EQ(stored.metadata[1].first, "mask-quality");
  }
  for (const CoverResult& c : r->uncropped) {
    EXPECT_GE(c.position, 5);
    EXPECT_TRUE(c.mask_quality.has_value());  // scored, but there are enough better ones
  }

  // The same request again: the same collage, every cut-out found by its HEAD.
  auto again = p.Run(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(models_.runs(), 9);
  EXPECT_EQ(again->stats.cache_hits, 9);
  ASSERT_EQ(again->cropped.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(again->cropped[i].cutout_key, r->cropped[i].cutout_key);
    EXPECT_TRUE(again->cropped[i].cache_hit);
  }

  // Another seed reshuffles the same nine covers.
  req.options.seed = 2;
  auto other = p.Run(req);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Sources(*other), Sources(*r));
}

TEST_F(PipelineFakeTest, SmallSubjectsStayUncroppedButTheirCutOutsAreKept) {
  RectModels tiny(0.05);
  PipelineEnv env{&store_, &fetcher_, &tiny, &clock_};
  Pipeline p(env, {});
  FunctionRequest req = Collage(12);
  auto r = p.Run(req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cropped.empty());
  EXPECT_EQ(r->uncropped.size(), 9u);
  EXPECT_EQ(store_.puts, 9);  // stored all the same: the next request skips the model
  int with_share = 0;
  for (const auto& c : r->uncropped) with_share += c.foreground_share.has_value();
  EXPECT_EQ(with_share, 9);

  req.options.threshold = 0.01;  // the request's threshold wins; the shares come from the cache
  auto low = p.Run(req);
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->cropped.size(), 5u);
  EXPECT_EQ(tiny.runs(), 9);
}

TEST_F(PipelineFakeTest, SmearsAreNeverCutOutEvenWhenFewerThanSixtyPercentRemain) {
  RectModels mixed(0.3, /*soft_odd=*/true);
  PipelineEnv env{&store_, &fetcher_, &mixed, &clock_};
  auto r = Pipeline(env, {}).Run(Collage(9));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Covers 0, 2, 4, 6, 8 have crisp masks, 1, 3, 5, 7 smears: 5 crisp, all cut out.
  ASSERT_EQ(r->cropped.size(), 5u);
  for (const auto& c : r->cropped) {
    EXPECT_EQ(std::stoi(c.input.value.substr(7)) % 2, 0) << c.input.value;
    EXPECT_GE(*c.mask_quality, 0.5);
  }
  for (const auto& c : r->uncropped) EXPECT_LT(*c.mask_quality, 0.5) << c.input.value;
  // With only three covers of nine crisp, only three are cut out.
  MemoryStore other;
  FunctionRequest req;
  for (int i = 0; i < 9; ++i) {
    std::string key = "covers/" + std::to_string(i) + ".png";
    other.objects[key] = {Cover(i < 3 ? 2 * i : 2 * i - 5), "image/png", {}};  // 0,2,4 crisp
    req.inputs.push_back(Key(key, i));
  }
  PipelineEnv env2{&other, &fetcher_, &mixed, &clock_};
  auto few = Pipeline(env2, {}).Run(req);
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(few->cropped.size(), 3u);
}

TEST_F(PipelineFakeTest, EachPictureOnceInACollage) {
  FunctionRequest req = Collage(6);
  // The same bytes under another key, ranked lower; and cover 2 re-encoded as JPEG.
  store_.objects["copies/0.png"] = store_.objects["covers/0.png"];
  req.inputs.push_back(Key("copies/0.png", 6));
  cv::Mat decoded = cv::imdecode(
      std::vector<uchar>(store_.objects["covers/2.png"].body.begin(),
                         store_.objects["covers/2.png"].body.end()),
      cv::IMREAD_COLOR);
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", decoded, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80}));
  store_.objects["copies/2.jpg"] = {std::string(jpeg.begin(), jpeg.end()), "image/jpeg", {}};
  req.inputs.push_back(Key("copies/2.jpg", 7));
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Sources(*r).size(), 6u);
  EXPECT_EQ(Sources(*r).count("copies/0.png"), 0u);
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].stage, "duplicate");
  EXPECT_EQ(r->errors[0].reason, "the same picture as covers/0.png");
  EXPECT_EQ(r->errors[1].reason, "the same picture as covers/2.png");
}

TEST_F(PipelineFakeTest, SegmentCutsOutEveryInputInRankOrder) {
  FunctionRequest req;
  req.op = Operation::kSegment;
  for (int i = 0; i < 3; ++i) {
    std::string key = "covers/k";
    key += std::to_string(i);
    store_.objects[key] = {Cover(i), "image/png", {}};
    req.inputs.push_back(Key(key, i));
  }
  fetcher_.bodies["https://img.example/c.png"] = Cover(7);
  req.inputs.push_back(Url("https://img.example/c.png", 3));
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cropped.size(), 4u);
  EXPECT_EQ(models_.runs(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r->cropped[i].input.rank, i);
    EXPECT_TRUE(r->cropped[i].palette.empty());
  }
  EXPECT_FALSE(r->dominant);
}

TEST_F(PipelineFakeTest, BadInputsAreReportedAndTheOthersGoOn) {
  FunctionRequest req = Collage(10);
  store_.objects["bad/text.txt"] = {"hello, I am not an image", "text/plain", {}};
  req.inputs.push_back(Key("bad/text.txt", 10));
  req.inputs.push_back(Key("bad/missing.png", 11));
  req.inputs.push_back(Url("https://img.example/404.png", 12));
  req.dropped.push_back(Key("late.png", 13));
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cropped.size() + r->uncropped.size(), 9u);
  ASSERT_EQ(r->errors.size(), 4u);
  EXPECT_EQ(r->errors[0].input.value, "bad/text.txt");
  EXPECT_EQ(r->errors[0].stage, "decode");
  EXPECT_EQ(r->errors[1].stage, "read");
  EXPECT_NE(r->errors[1].reason.find("NoSuchKey"), std::string::npos);
  EXPECT_EQ(r->errors[2].stage, "fetch");
  EXPECT_EQ(r->errors[3].stage, "limit");
}

TEST_F(PipelineFakeTest, FailedPutsAreErrorsAndTheCoversStayUncropped) {
  store_.fail_puts = true;
  auto r = Make().Run(Collage(12));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cropped.empty());
  EXPECT_EQ(r->uncropped.size(), 9u);
  ASSERT_EQ(r->errors.size(), 9u);
  for (const auto& e : r->errors) {
    EXPECT_EQ(e.stage, "store");
    EXPECT_NE(e.reason.find("PUT failed (injected)"), std::string::npos) << e.reason;
  }
}

TEST_F(PipelineFakeTest, AFailedHeadStopsTheRequestBeforeTheModel) {
  store_.fail_heads = true;
  auto r = Make().Run(Collage(9));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "cannot read the bucket memory://bucket: HEAD failed (injected)");
  EXPECT_EQ(models_.runs(), 0);
}

TEST_F(PipelineFakeTest, TheFirstModelRunNeedsItsEstimateThenTheMeasuredTime) {
  PipelineOptions o;
  o.deadline_reserve = std::chrono::seconds(2);
  o.first_forward_estimate = std::chrono::seconds(3);
  Pipeline p = Make(o);
  // 4 s left: the reserve fits, the reserve and a first model run's estimate do not.
  auto cold = p.Run(Collage(12), clock_.Now() + std::chrono::seconds(4));
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(models_.runs(), 0);
  ASSERT_FALSE(cold->errors.empty());
  EXPECT_EQ(cold->errors[0].stage, "deadline");
  EXPECT_NE(cold->errors[0].reason.find("deadline is 4000 ms away"), std::string::npos)
      << cold->errors[0].reason;
  // Once a run has been measured (the fake model is fast), the same 4 s are enough.
  ASSERT_TRUE(p.Run(Collage(12), clock_.Now() + std::chrono::seconds(60)).ok());
  std::erase_if(store_.objects,
                [](const auto& entry) { return entry.first.starts_with("cutouts/"); });
  const int runs = models_.runs();
  auto warm = p.Run(Collage(12), clock_.Now() + std::chrono::seconds(4));
  ASSERT_TRUE(warm.ok());
  EXPECT_GT(models_.runs(), runs);
}

TEST_F(PipelineFakeTest, CachedCutOutWithoutShareIsMadeAgain) {
  Pipeline p = Make();
  FunctionRequest req = Collage(9);
  ASSERT_TRUE(p.Run(req).ok());
  for (auto& [key, obj] : store_.objects) {
    if (key.starts_with("cutouts/")) obj.metadata.clear();
  }
  auto r = p.Run(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.cache_hits, 0);
  EXPECT_EQ(models_.runs(), 18);
}

// Everything an answer says of its collage but whether cut-outs were found or made.
std::string Shape(const PipelineResult& r) {
  std::string out;
  auto rgb = [](const std::optional<collage::Rgb>& c) {
    return c ? std::to_string(c->r) + "," + std::to_string(c->g) + "," + std::to_string(c->b)
             : std::string("-");
  };
  out += "dominant " + rgb(r.dominant) + " complementary " + rgb(r.complementary) + "\n";
  for (const auto* list : {&r.cropped, &r.uncropped}) {
    for (const CoverResult& c : *list) {
      out += c.input.value + " @" + std::to_string(c.position) + " [" + FormatPalette(c.palette) +
             "] score " + std::to_string(c.score.value_or(-1)) + " " + c.cutout_key + " share " +
             std::to_string(c.foreground_share.value_or(-1)) + " quality " +
             std::to_string(c.mask_quality.value_or(-1)) + " " + std::to_string(c.cutout_width) +
             "x" + std::to_string(c.cutout_height) + (c.cropped ? " cropped\n" : "\n");
    }
  }
  for (const InputError& e : r.errors)
    out += e.input.value + ": " + e.stage + ": " + e.reason + "\n";
  return out;
}

TEST_F(PipelineFakeTest, ACollageOfCoversAlreadyCutOutReadsNoPixels) {
  // Covers PUT with their SHA-256 (as the web app does), one of them twice under two keys and
  // one re-encoded: the duplicates must be found from the cut-outs' metadata too.
  store_.checksums = true;
  FunctionRequest collage = Collage(14, 3);
  store_.objects["copies/0.png"] = store_.objects["covers/0.png"];
  collage.inputs.push_back(Key("copies/0.png", 14));
  auto rgba = vision::DecodeImage(store_.objects["covers/5.png"].body);
  ASSERT_TRUE(rgba.ok());
  cv::Mat resized;
  cv::resize(rgba->pixels, resized, cv::Size(120, 90), 0, 0, cv::INTER_AREA);
  store_.objects["copies/5.png"] = {*vision::EncodePng(vision::Image{resized}), "image/png", {}};
  collage.inputs.push_back(Key("copies/5.png", 15));

  // The reference: the same collage from the covers' pixels, in a bucket of its own.
  MemoryStore plain;
  plain.objects = store_.objects;
  RectModels plain_models(0.3);
  PipelineEnv plain_env{&plain, &fetcher_, &plain_models, &clock_};
  auto reference = Pipeline(plain_env, {}).Run(collage);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  ASSERT_EQ(reference->errors.size(), 2u);
  EXPECT_EQ(reference->errors[0].stage, "duplicate");
  EXPECT_EQ(reference->errors[1].stage, "duplicate");

  // The web app's order: a segment invoke per cover, then the collage.
  Pipeline p = Make();
  for (const InputRef& in : collage.inputs) {
    FunctionRequest segment;
    segment.op = Operation::kSegment;
    segment.inputs = {in};
    auto cut = p.Run(segment);
    ASSERT_TRUE(cut.ok() && cut->errors.empty()) << in.value;
  }
  const int gets = store_.gets, runs = models_.runs();
  auto r = p.Run(collage);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(store_.gets, gets);  // no cover read
  EXPECT_EQ(models_.runs(), runs);
  EXPECT_EQ(r->stats.cache_hits, 9);
  EXPECT_EQ(Shape(*r), Shape(*reference));

  // A segment of a cover already cut out reads nothing either.
  FunctionRequest again;
  again.op = Operation::kSegment;
  again.inputs = {collage.inputs[3]};
  ASSERT_TRUE(p.Run(again).ok());
  EXPECT_EQ(store_.gets, gets);
}

TEST_F(PipelineFakeTest, CutOutsWithoutPalettesMakeTheCollageReadThoseCovers) {
  store_.checksums = true;
  FunctionRequest collage = Collage(12, 5);
  MemoryStore plain;
  plain.objects = store_.objects;
  RectModels plain_models(0.3);
  auto reference =
      Pipeline(PipelineEnv{&plain, &fetcher_, &plain_models, &clock_}, {}).Run(collage);
  ASSERT_TRUE(reference.ok());

  Pipeline p = Make();
  FunctionRequest segment = collage;
  segment.op = Operation::kSegment;
  ASSERT_TRUE(p.Run(segment).ok());
  int stripped = 0;  // as cut-outs stored by an older version
  for (auto& [key, obj] : store_.objects) {
    if (!key.starts_with("cutouts/") || stripped == 4) continue;
    std::erase_if(obj.metadata,
                  [](const auto& m) { return m.first == "palette" || m.first == "fingerprint"; });
    ++stripped;
  }
  const int gets = store_.gets;
  auto r = p.Run(collage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store_.gets - gets, 4);
  EXPECT_EQ(Shape(*r), Shape(*reference));
}

TEST_F(PipelineFakeTest, ACoverChangedBetweenItsHeadAndItsReadIsNamedByWhatWasRead) {
  store_.checksums = true;
  Pipeline p = Make();
  // Segment: known by its HEAD, read only for the model, by then other bytes.
  FunctionRequest segment;
  segment.op = Operation::kSegment;
  store_.objects["covers/x.png"] = {Cover(1), "image/png", {}};
  store_.replace_before_get["covers/x.png"] = Cover(2);
  segment.inputs.push_back(Key("covers/x.png", 0));
  auto r = p.Run(segment);
  ASSERT_TRUE(r.ok() && r->errors.empty());
  ASSERT_EQ(r->cropped.size(), 1u);
  const std::string key = p.CutoutKey(Sha256Hex(Cover(2)), "rect@1024");
  EXPECT_EQ(r->cropped[0].cutout_key, key);
  ObjectHead stored;
  stored.metadata = store_.objects[key].metadata;
  EXPECT_EQ(stored.Meta("source-sha256"), Sha256Hex(Cover(2)));
  EXPECT_EQ(store_.objects.count(p.CutoutKey(Sha256Hex(Cover(1)), "rect@1024")), 0u);

  // Collage: a cover without a cut-out is read while loading; the cut-out HEAD made for its
  // old bytes is not reused.
  FunctionRequest collage = Collage(9, 4);
  store_.replace_before_get["covers/3.png"] = Cover(33);
  auto c = p.Run(collage);
  ASSERT_TRUE(c.ok() && c->errors.empty());
  bool found = false;
  for (const auto* list : {&c->cropped, &c->uncropped}) {
    for (const CoverResult& cover : *list) {
      if (cover.input.value != "covers/3.png") continue;
      found = true;
      EXPECT_EQ(cover.cutout_key, p.CutoutKey(Sha256Hex(Cover(33)), "rect@1024"));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(PipelineFakeTest, NoModelRunStartsTooCloseToTheDeadline) {
  PipelineOptions o;
  o.deadline_reserve = std::chrono::seconds(2);
  auto r = Make(o).Run(Collage(12), clock_.Now() + std::chrono::seconds(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(models_.runs(), 0);
  EXPECT_EQ(r->uncropped.size(), 9u);
  ASSERT_EQ(r->errors.size(), 9u);
  EXPECT_EQ(r->errors[0].stage, "deadline");

  auto later = Make(o).Run(Collage(12), clock_.Now() + std::chrono::seconds(60));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->cropped.size(), 5u);
}

TEST_F(PipelineFakeTest, FetchesEndBeforeTheDeadline) {
  PipelineOptions o;
  o.deadline_reserve = std::chrono::seconds(2);
  FunctionRequest req;
  req.op = Operation::kSegment;
  fetcher_.bodies["https://img.example/a.png"] = Cover(1);
  req.inputs.push_back(Url("https://img.example/a.png", 0));
  auto r = Make(o).Run(req, clock_.Now() + std::chrono::seconds(30));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty());
  ASSERT_EQ(fetcher_.budgets.size(), 1u);
  EXPECT_EQ(fetcher_.budgets[0], std::chrono::seconds(28));  // the manual clock stands still

  auto late = Make(o).Run(req, clock_.Now() + std::chrono::seconds(1));
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->errors.size(), 1u);
  EXPECT_EQ(late->errors[0].stage, "deadline");
  EXPECT_EQ(fetcher_.fetches.load(), 1);  // nothing fetched the second time
}

TEST_F(PipelineFakeTest, UrlsWithoutAFetcherAreErrors) {
  PipelineEnv env{&store_, nullptr, &models_, &clock_};
  FunctionRequest req;
  req.op = Operation::kSegment;
  req.inputs.push_back(Url("https://img.example/a.png", 0));
  auto r = Pipeline(env, {}).Run(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].reason, "URL fetching is off in this function");
}

TEST_F(PipelineFakeTest, SizeRefusedByTheModelIsTheRequestsError) {
  FunctionRequest req = Collage(3);
  req.options.size = 320;
  auto r = Make().Run(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_.heads, 0);
}

TEST_F(PipelineFakeTest, AllInputsBadGivesNoCovers) {
  FunctionRequest req;
  req.inputs.push_back(Key("nope-1", 0));
  req.inputs.push_back(Key("nope-2", 1));
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cropped.empty() && r->uncropped.empty());
  EXPECT_EQ(r->errors.size(), 2u);
}

TEST_F(PipelineFakeTest, TransparentPixelsDoNotColourThePalette) {
  cv::Mat bgra(50, 50, CV_8UC4, cv::Scalar(0, 0, 255, 0));         // transparent red
  bgra(cv::Rect(0, 0, 25, 50)).setTo(cv::Scalar(255, 0, 0, 255));  // opaque blue half
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", bgra, png));
  store_.objects["covers/alpha.png"] = {std::string(png.begin(), png.end()), "image/png", {}};
  FunctionRequest req;
  req.inputs.push_back(Key("covers/alpha.png", 0));
  auto r = Make().Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cropped.size() + r->uncropped.size(), 1u);
  const CoverResult& c = r->cropped.empty() ? r->uncropped[0] : r->cropped[0];
  ASSERT_FALSE(c.palette.empty());
  for (const auto& colour : c.palette) {
    EXPECT_LT(colour.color.r, 40) << "transparent red leaked into the palette";
    EXPECT_GT(colour.color.b, 200);
  }
}

TEST(PipelineKeys, ContentAddressed) {
  PipelineEnv env;
  Pipeline p(env, {});
  EXPECT_EQ(p.CutoutKey("ab12", "isnet-general-medium-fp32@1024"),
            "cutouts/ab12-isnet-general-medium-fp32-1024.png");
}

}  // namespace
}  // namespace sparkify::function
