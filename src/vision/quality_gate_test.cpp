// The quality gate of the engine's modes (tools/model/README.md): on every bundled sample, at
// the model's default size, each mode's mask against the fp32 reference (direct convolution
// only). A precision the manifest offers must keep IoU at 0.5 >= 0.98 and mean |difference|
// <= 0.01 on every sample; fp32 with Winograd (the default) must stay within 1e-4. fast (F(8x8)
// Winograd) and bf16 (where the CPU has it) are measured offered or not, so the gate says
// whether they could be.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/network.h"
#include "vision/segmenter.h"
#include "vision/test_util.h"

namespace sparkify::vision {
namespace {

using namespace sparkify::vision::testing;  // NOLINT

#if defined(__SANITIZE_ADDRESS__)
#define SPARKIFY_GATE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPARKIFY_GATE_SANITIZED 1
#endif
#endif

#ifndef SPARKIFY_GATE_SANITIZED
const char* const kSamples[] = {"astronaut.png", "chelsea.png",     "coffee.png",
                                "rocket.jpg",    "camera.png",      "coins.png",
                                "clock_motion.png", "horse.png",    "hubble_deep_field.jpg",
                                "retina.jpg",    "ihc.png",         "logo.png"};
#else
// Under the sanitizers (the Debug build of scripts/test.sh, several times slower: the fp32
// gate alone took 143 s) the gate watches memory, not numbers: three samples, among them the
// two where bf16 strays most. The Release stage holds the numbers to all twelve.
const char* const kSamples[] = {"astronaut.png", "ihc.png", "hubble_deep_field.jpg"};
#endif

struct Agreement {
  double iou = 1;        // of the masks thresholded at 0.5
  double mean_diff = 0;  // mean |a - b|
  double max_diff = 0;
};

Agreement Compare(const Mask& a, const Mask& b) {
  Agreement out;
  int64_t both = 0, either = 0;
  double sum = 0;
  for (int y = 0; y < a.height(); ++y) {
    const float* pa = a.alpha.ptr<float>(y);
    const float* pb = b.alpha.ptr<float>(y);
    for (int x = 0; x < a.width(); ++x) {
      bool fa = pa[x] >= 0.5f, fb = pb[x] >= 0.5f;
      both += fa && fb;
      either += fa || fb;
      double d = std::fabs(double(pa[x]) - pb[x]);
      sum += d;
      out.max_diff = std::max(out.max_diff, d);
    }
  }
  out.iou = either == 0 ? 1.0 : double(both) / double(either);
  out.mean_diff = sum / (double(a.width()) * a.height());
  return out;
}

class QualityGateTest : public ::testing::Test {
 protected:
  // The reference masks, once for the suite (12 forwards at 1024).
  static void SetUpTestSuite() {
    SegmenterOptions o;
    o.winograd = false;
    auto ref = GraphSegmenter::Load(ModelManifestPath(), o);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString() << " (run scripts/setup.sh)";
    offered_ = new std::vector<std::string>((*ref)->manifest().precisions);
    references_ = new std::map<std::string, Mask>();
    for (const char* sample : kSamples) {
      auto image = DecodeImage(ReadFile(SamplePath(sample)));
      ASSERT_TRUE(image.ok()) << sample << ": " << image.status().ToString();
      auto mask = (*ref)->Saliency(*image);
      ASSERT_TRUE(mask.ok()) << sample << ": " << mask.status().ToString();
      (*references_)[sample] = *mask;
    }
  }
  static void TearDownTestSuite() {
    delete references_;
    delete offered_;
  }

  // Every sample through `options`; the worst agreement with the reference.
  static Agreement Worst(const SegmenterOptions& options,
                         const std::string& manifest = ModelManifestPath()) {
    auto seg = GraphSegmenter::Load(manifest, options);
    EXPECT_TRUE(seg.ok()) << seg.status().ToString();
    Agreement worst;
    if (!seg.ok()) return {0, 1, 1};
    for (const char* sample : kSamples) {
      auto image = DecodeImage(ReadFile(SamplePath(sample)));
      auto mask = (*seg)->Saliency(*image);
      EXPECT_TRUE(mask.ok()) << sample;
      if (!mask.ok()) return {0, 1, 1};
      Agreement a = Compare(*mask, references_->at(sample));
      std::printf("[ gate   ] %-22s %-5s IoU %.4f  mean |diff| %.5f  max %.1e\n", sample,
                  options.precision.c_str(), a.iou, a.mean_diff, a.max_diff);
      worst.iou = std::min(worst.iou, a.iou);
      worst.mean_diff = std::max(worst.mean_diff, a.mean_diff);
      worst.max_diff = std::max(worst.max_diff, a.max_diff);
    }
    return worst;
  }

  static bool Offered(const std::string& precision) {
    return std::find(offered_->begin(), offered_->end(), precision) != offered_->end();
  }

  // `max_diff` > 0: also a bound on the largest difference, offered or not (what the mode's
  // code promises, beside the gate).
  static void ExpectTheGateWhereOffered(const std::string& precision, double max_diff = 0);

  static inline std::map<std::string, Mask>* references_ = nullptr;
  static inline std::vector<std::string>* offered_ = nullptr;
};

TEST_F(QualityGateTest, Fp32WithWinogradStaysWithin1e4OfTheReference) {
  SegmenterOptions o;
  Agreement worst = Worst(o);
  EXPECT_LT(worst.max_diff, 1e-4);
  EXPECT_GE(worst.iou, 0.999);
}

// `precision` on every sample, measured even when the manifest does not offer it (through a
// copy of the manifest that does, beside a link to the same graph), so that the gate tells
// whether it could be; held to the gate where it is offered.
void QualityGateTest::ExpectTheGateWhereOffered(const std::string& precision, double max_diff) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / ("gate-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto manifest = nlohmann::json::parse(ReadFile(ModelManifestPath()));
  fs::path model_dir = fs::path(ModelManifestPath()).parent_path();
  fs::create_symlink(model_dir / manifest["file"].get<std::string>(),
                     dir / manifest["file"].get<std::string>());
  manifest["precisions"] = {"fp32", precision};
  WriteFile((dir / "manifest.json").string(), manifest.dump());
  SegmenterOptions o;
  o.precision = precision;
  Agreement worst = Worst(o, (dir / "manifest.json").string());
  fs::remove_all(dir);
  std::printf("[ gate   ] %s worst: IoU %.4f, mean |diff| %.5f, max %.1e: %s (offered: %s)\n",
              precision.c_str(), worst.iou, worst.mean_diff, worst.max_diff,
              worst.iou >= 0.98 && worst.mean_diff <= 0.01 ? "passes" : "fails",
              Offered(precision) ? "yes" : "no");
  if (Offered(precision)) {
    EXPECT_GE(worst.iou, 0.98);
    EXPECT_LE(worst.mean_diff, 0.01);
  }
  if (max_diff > 0) {
    EXPECT_LT(worst.max_diff, max_diff);
  }
}

TEST_F(QualityGateTest, Bf16PassesTheGateWhereOffered) {
  if (!nn::CpuSupports(nn::Precision::kBf16)) {
    GTEST_SKIP() << "no AVX512-BF16 on this CPU (" << nn::CpuIsaName() << ")";
  }
  ExpectTheGateWhereOffered("bf16");
}

// F(8x8) Winograd (nn::Precision::kFast): every CPU our kernel runs on. Its masks stay within
// 1e-3 of the reference (3.1e-4 on 2026-12-07, two threads; how many threads there are
// changes which layers take F(8x8), so a larger machine can differ a little).
TEST_F(QualityGateTest, FastPassesTheGateWhereOffered) { ExpectTheGateWhereOffered("fast", 1e-3); }

}  // namespace
}  // namespace sparkify::vision
