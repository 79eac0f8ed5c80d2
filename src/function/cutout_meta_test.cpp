#include "function/cutout_meta.h"

#include <gtest/gtest.h>

namespace sparkify::function {
namespace {

TEST(CutoutMetaTest, RoundTripsThroughObjectMetadata) {
  CutoutMeta meta;
  meta.foreground_share = StoredScore(0.4218751234);
  meta.mask_quality = StoredScore(0.9);
  meta.width = 640;
  meta.height = 480;
  meta.model = "isnet-general-medium-fp32@1024";
  meta.source_sha256 = std::string(64, 'a');
  meta.palette = collage::Palette{{{190, 108, 57}, 0.18}, {{0, 255, 16}, 0.07}, {{1, 2, 3}, 0}};
  meta.fingerprint = collage::Fingerprint{0x0f1e2d3c4b5a6978ull, {128, 0, 255}};

  ObjectHead head;
  head.metadata = ToMetadata(meta);
  EXPECT_EQ(head.Meta("foreground-share"), "0.421875");
  EXPECT_EQ(head.Meta("palette"), "be6c39:0.18 00ff10:0.07 010203:0.00");
  EXPECT_EQ(head.Meta("fingerprint"), "0f1e2d3c4b5a6978-8000ff");
  EXPECT_EQ(head.Meta("summary-version"), std::to_string(kCoverSummaryVersion));
  auto back = ParseCutoutMeta(head);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->foreground_share, meta.foreground_share);
  EXPECT_EQ(back->mask_quality, meta.mask_quality);
  EXPECT_EQ(back->width, 640);
  EXPECT_EQ(back->height, 480);
  EXPECT_EQ(back->model, meta.model);
  EXPECT_EQ(back->source_sha256, meta.source_sha256);
  ASSERT_TRUE(back->palette.has_value());
  ASSERT_EQ(back->palette->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*back->palette)[i].color, (*meta.palette)[i].color);
    EXPECT_EQ((*back->palette)[i].share, (*meta.palette)[i].share);  // exactly: 2 decimals
  }
  ASSERT_TRUE(back->fingerprint.has_value());
  EXPECT_EQ(back->fingerprint->hash, meta.fingerprint->hash);
  EXPECT_EQ(back->fingerprint->mean, meta.fingerprint->mean);
}

TEST(CutoutMetaTest, MissingOrBadScoresMeanMakeItAgain) {
  ObjectHead head;
  head.metadata = {{"foreground-share", "0.5"}, {"mask-quality", "0.9"}, {"cutout-size", "3x4"}};
  EXPECT_TRUE(ParseCutoutMeta(head).has_value());
  for (auto [name, bad] :
       std::vector<std::pair<std::string, std::string>>{{"foreground-share", "1.5"},
                                                        {"foreground-share", "nan"},
                                                        {"mask-quality", ""},
                                                        {"mask-quality", "0.9x"},
                                                        {"cutout-size", "0x4"},
                                                        {"cutout-size", "3x4x"},
                                                        {"cutout-size", "70000x1"},
                                                        {"cutout-size", " 3x4"},
                                                        {"cutout-size", "+3x4"},
                                                        {"cutout-size", "99999999999999999999x4"},
                                                        {"cutout-size", "3x"}}) {
    ObjectHead broken = head;
    for (auto& [k, v] : broken.metadata) {
      if (k == name) v = bad;
    }
    EXPECT_FALSE(ParseCutoutMeta(broken).has_value()) << name << "=" << bad;
  }
  // Without palette or fingerprint (an older cut-out): the scores are used, they are not.
  auto meta = ParseCutoutMeta(head);
  EXPECT_FALSE(meta->palette.has_value());
  EXPECT_FALSE(meta->fingerprint.has_value());
}

TEST(CutoutMetaTest, APaletteOfAnotherSummaryVersionIsNotUsed) {
  CutoutMeta meta;
  meta.width = meta.height = 1;
  meta.palette = collage::Palette{{{1, 2, 3}, 1.0}};
  meta.fingerprint = collage::Fingerprint{1, {1, 2, 3}};
  ObjectHead head;
  head.metadata = ToMetadata(meta);
  EXPECT_TRUE(ParseCutoutMeta(head)->palette.has_value());
  for (auto& [k, v] : head.metadata) {
    if (k == "summary-version") v = std::to_string(kCoverSummaryVersion + 1);
  }
  EXPECT_FALSE(ParseCutoutMeta(head)->palette.has_value());
  EXPECT_FALSE(ParseCutoutMeta(head)->fingerprint.has_value());
  std::erase_if(head.metadata, [](const auto& m) { return m.first == "summary-version"; });
  EXPECT_FALSE(ParseCutoutMeta(head)->palette.has_value());
}

TEST(CutoutMetaTest, MalformedPalettesAndFingerprintsAreRefused) {
  EXPECT_TRUE(ParsePalette("be6c39:0.18").has_value());
  EXPECT_TRUE(ParsePalette("be6c39:1 000000:0").has_value());
  for (const char* bad :
       {"", " ", "be6c39", "be6c39:", "be6c39:0.18 ", " be6c39:0.18", "be6c39:0.18  000000:0.1",
        "BE6C39:0.18", "be6c3:0.18", "be6c39;0.18", "be6c39:1.5", "be6c39:-0.1", "be6c39:nan",
        "be6c39:0.18x", "gg6c39:0.18", "be6c39:0.1800000"}) {
    EXPECT_FALSE(ParsePalette(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_TRUE(ParseFingerprint("0f1e2d3c4b5a6978-8000ff").has_value());
  for (const char* bad :
       {"", "0f1e2d3c4b5a6978", "0f1e2d3c4b5a6978-8000f", "0f1e2d3c4b5a6978_8000ff",
        "0F1E2D3C4B5A6978-8000ff", "0f1e2d3c4b5a697-88000ff", "0f1e2d3c4b5a6978-8000ff0"}) {
    EXPECT_FALSE(ParseFingerprint(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(CutoutMetaTest, APaletteTooLongForS3sMetadataIsLeftOut) {
  CutoutMeta meta;
  meta.palette = collage::Palette(200, collage::PaletteColor{{1, 2, 3}, 0.01});
  ObjectMetadata metadata = ToMetadata(meta);
  size_t bytes = 0;
  for (const auto& [k, v] : metadata) bytes += k.size() + v.size();
  EXPECT_LT(bytes, 2048u);
  ObjectHead head;
  head.metadata = metadata;
  EXPECT_FALSE(head.Meta("palette").has_value());
}

// One rule for "shown cut out", on the stored scores: the share reaches the threshold and the
// mask is a confident subject (rocket.jpg at 512: share 0.139, quality 0.065: not cut out).
TEST(ShownCutOutTest, NeedsTheShareAndAConfidentMask) {
  EXPECT_TRUE(ShownCutOut(0.8, 0.62, 0.1));
  EXPECT_FALSE(ShownCutOut(0.139, 0.065, 0.1));
  EXPECT_FALSE(ShownCutOut(0.05, 0.95, 0.1));
  EXPECT_TRUE(ShownCutOut(0.1, 0.5, 0.1));  // both bounds inclusive
  // Judged as stored: a score that rounds up to the bound passes, fresh or cached alike.
  EXPECT_TRUE(ShownCutOut(0.2, 0.4999996, 0.1));
  EXPECT_EQ(ShownCutOut(0.2, 0.4999996, 0.1), ShownCutOut(0.2, StoredScore(0.4999996), 0.1));
}

}  // namespace
}  // namespace sparkify::function
