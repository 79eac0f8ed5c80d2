#include "collage/selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace sparkify::collage {
namespace {

const Rgb kBlue{40, 80, 200};         // the dominant colour of the constructed cases
const Rgb kYellow{215, 175, 55};      // 255 - kBlue: its complementary colour
const Rgb kBrick{200, 40, 40};        // CIE76 ~111.5 from kBlue, ~68.8 from kYellow
const Rgb kNearBlack{10, 10, 10};     // R+G+B = 30: too dark
const Rgb kNearWhite{250, 250, 250};  // R+G+B = 750: too light

// prefix + i, appended (GCC 12's -Wrestrict misfires on "literal" + std::to_string at -O3).
std::string Id(const char* prefix, size_t i) {
  std::string id(prefix);
  id.append(std::to_string(i));
  return id;
}

Cover Make(std::string id, int rank, Palette p) { return Cover{std::move(id), rank, std::move(p)}; }

// Palettes as the palette code makes them: 1-5 colours, shares in hundredths summing to 1.
std::vector<Cover> RandomCovers(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Cover> covers;
  for (size_t i = 0; i < n; ++i) {
    Palette p;
    int left = 100;
    const int colours = 1 + int(rng() % 5);
    for (int c = 0; c < colours && left > 0; ++c) {
      const int hundredths = c + 1 == colours ? left : 1 + int(rng() % uint64_t(left));
      left -= hundredths;
      p.push_back({Rgb{uint8_t(rng()), uint8_t(rng()), uint8_t(rng())}, hundredths / 100.0});
    }
    std::sort(p.begin(), p.end(), [](auto& x, auto& y) { return x.share > y.share; });
    covers.push_back(Make(Id("cover-", i), int(i), p));
  }
  return covers;
}

TEST(SelectionTest, PickDominantSkipsTooDarkAndTooLight) {
  const SelectionOptions o;
  const struct {
    const char* name;
    std::vector<Rgb> predominant;
    Rgb expected;
  } cases[] = {
      {"first is fine", {kBlue, kNearBlack}, kBlue},
      {"too dark first", {kNearBlack, kBrick, kBlue}, kBrick},
      {"too light then too dark first", {kNearWhite, kNearBlack, kBlue}, kBlue},
      {"all unusable: the first", {kNearBlack, kNearWhite}, kNearBlack},
      {"sum 129 is too dark, 130 is not", {Rgb{129, 0, 0}, Rgb{130, 0, 0}}, Rgb{130, 0, 0}},
      {"sum 636 is too light, 635 is not",
       {Rgb{255, 255, 126}, Rgb{255, 255, 125}},
       Rgb{255, 255, 125}},
  };
  for (const auto& c : cases) {
    std::vector<PredominantColor> p;
    for (Rgb rgb : c.predominant) p.push_back({rgb, 0.2, 20});
    EXPECT_EQ(PickDominant(p, o), c.expected) << c.name;
  }
}

TEST(SelectionTest, DominantColourEndToEndSkipsADarkFirstColour) {
  // Mostly near-black covers: the heaviest predominant colour is too dark, so brick wins.
  std::vector<Cover> covers;
  for (int i = 0; i < 5; ++i) {
    covers.push_back(Make(Id("c", size_t(i)), i, {{kNearBlack, 0.8}, {kBrick, 0.2}}));
  }
  auto r = SelectCollage(covers);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->predominant.size(), 2u);  // only two distinct colours to cluster
  EXPECT_EQ(r->predominant[0].color, kNearBlack);
  EXPECT_EQ(r->predominant[0].weight, 400u);
  EXPECT_DOUBLE_EQ(r->predominant[0].share, 0.8);
  EXPECT_EQ(r->predominant[1].color, kBrick);
  EXPECT_EQ(r->dominant, kBrick);
  EXPECT_EQ(r->complementary, (Rgb{55, 215, 215}));
}

TEST(SelectionTest, DistanceScoreIsShareWeighted) {
  const Rgb red{255, 0, 0}, white{255, 255, 255};
  const double red_white = 114.5316;  // CIE76, from the published Lab values of both
  EXPECT_NEAR(DistanceScore({{red, 0.5}, {white, 0.5}}, white), 0.5 * red_white, 1e-3);
  EXPECT_NEAR(DistanceScore({{red, 0.25}, {white, 0.75}}, red), 0.75 * red_white, 1e-3);
  EXPECT_DOUBLE_EQ(DistanceScore({{white, 1.0}}, white), 0.0);
}

TEST(SelectionTest, ComplementaryAdjustment) {
  const SelectionOptions o;
  const double exact = DeltaE76(RgbToLab(kBrick), RgbToLab(kYellow));
  SelectionOptions at_limit = o;
  at_limit.complementary_distance = exact;
  SelectionOptions below_limit = o;
  below_limit.complementary_distance = std::nextafter(exact, 0.0);
  const Rgb near_yellow{210, 170, 60};  // a few units from kYellow
  const struct {
    const char* name;
    Palette palette;
    const SelectionOptions* options;
    double expected;  // for a score of 100
  } cases[] = {
      {"no colour near", {{kBlue, 0.6}, {kBrick, 0.4}}, &o, 100},
      {"one colour, share 0.5", {{kBlue, 0.5}, {kYellow, 0.5}}, &o, 100 * (1 - 0.6 * 0.5)},
      {"two colours apply in turn",
       {{kYellow, 0.5}, {kBlue, 0.25}, {near_yellow, 0.25}},
       &o,
       100 * (1 - 0.6 * 0.5) * (1 - 0.6 * 0.25)},
      {"distance limit is inclusive", {{kBrick, 1.0}}, &at_limit, 100 * (1 - 0.6)},
      {"just beyond the limit", {{kBrick, 1.0}}, &below_limit, 100},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(ComplementaryAdjusted(100, c.palette, kYellow, *c.options), c.expected, 1e-9)
        << c.name;
  }
  EXPECT_DOUBLE_EQ(ComplementaryAdjusted(0, {{kYellow, 1.0}}, kYellow, o), 0.0);
}

TEST(SelectionTest, ComplementaryRuleChangesTheCollage) {
  // Eight covers in the dominant blue (score 0), and two candidates for the ninth place:
  // "brick" is closer to blue (0.5 * 111.5) than "yellow" (0.5 * 136.9), but yellow's
  // complementary half takes 30% off its score, which then beats brick's.
  std::vector<Cover> covers;
  for (int i = 0; i < 8; ++i) covers.push_back(Make(Id("blue", size_t(i)), i, {{kBlue, 1}}));
  covers.push_back(Make("brick", 8, {{kBlue, 0.5}, {kBrick, 0.5}}));
  covers.push_back(Make("yellow", 9, {{kBlue, 0.5}, {kYellow, 0.5}}));
  const double brick = DistanceScore(covers[8].palette, kBlue);
  const double yellow = DistanceScore(covers[9].palette, kBlue);
  ASSERT_LT(brick, yellow);
  ASSERT_LT(yellow * 0.7, brick);

  SelectionOptions without;
  without.complementary_factor = 0;
  const struct {
    const SelectionOptions options;
    const char* ninth;
  } cases[] = {{without, "brick"}, {SelectionOptions{}, "yellow"}};
  for (const auto& c : cases) {
    auto r = SelectCollage(covers, c.options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->dominant, kBlue);
    EXPECT_EQ(r->complementary, kYellow);
    ASSERT_EQ(r->covers.size(), 9u);
    EXPECT_EQ(r->covers.back().id, c.ninth);
  }
}

TEST(SelectionTest, ThirtyCoversTwelveNineFive) {
  const std::vector<Cover> covers = RandomCovers(30, 1);
  const SelectionOptions o;
  auto r = SelectCollage(covers, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->predominant.size(), 5u);
  auto predominant = PredominantColors(covers, o);
  ASSERT_TRUE(predominant.ok());
  EXPECT_EQ(r->dominant, PickDominant(*predominant, o));
  EXPECT_EQ(r->complementary, Complementary(r->dominant));

  // Recompute steps 3 and 4 independently.
  std::vector<std::pair<double, size_t>> by_distance;
  for (size_t i = 0; i < covers.size(); ++i) {
    by_distance.push_back({DistanceScore(covers[i].palette, r->dominant), i});
  }
  std::sort(by_distance.begin(), by_distance.end());
  std::vector<std::pair<double, size_t>> by_score;
  for (size_t i = 0; i < 12; ++i) {
    const Cover& c = covers[by_distance[i].second];
    by_score.push_back({ComplementaryAdjusted(by_distance[i].first, c.palette, r->complementary, o),
                        by_distance[i].second});
  }
  std::sort(by_score.begin(), by_score.end());

  ASSERT_EQ(r->covers.size(), 9u);
  std::set<int> positions;
  int cut_outs = 0;
  for (size_t i = 0; i < 9; ++i) {
    const ChosenCover& c = r->covers[i];
    const Cover& in = covers[by_score[i].second];
    EXPECT_EQ(c.id, in.id) << i;
    EXPECT_EQ(c.rank, in.rank);
    EXPECT_EQ(c.palette.size(), in.palette.size());
    EXPECT_DOUBLE_EQ(c.score, by_score[i].first);
    EXPECT_DOUBLE_EQ(c.distance, DistanceScore(in.palette, r->dominant));
    EXPECT_LE(c.score, c.distance);
    positions.insert(c.shuffle_position);
    EXPECT_EQ(c.cut_out, c.shuffle_position < 5);
    cut_outs += c.cut_out;
  }
  EXPECT_EQ(positions, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(cut_outs, 5);
}

TEST(SelectionTest, FewerCoversThanTheCollage) {
  const struct {
    size_t covers;
    int cut_outs;
  } cases[] = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {8, 5}, {9, 5}, {12, 5}};
  for (const auto& c : cases) {
    auto r = SelectCollage(RandomCovers(c.covers, 3));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->covers.size(), std::min<size_t>(c.covers, 9)) << c.covers;
    int cut = 0;
    for (const ChosenCover& cc : r->covers) cut += cc.cut_out;
    EXPECT_EQ(cut, c.cut_outs) << c.covers;
  }
}

TEST(SelectionTest, EqualScoresGoByRank) {
  std::vector<Cover> covers = {Make("a", 5, {{kBlue, 1}}), Make("b", 3, {{kBlue, 1}}),
                               Make("c", 9, {{kBlue, 1}}), Make("d", 3, {{kBlue, 1}})};
  auto r = SelectCollage(covers);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> ids;
  for (const ChosenCover& c : r->covers) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "d", "a", "c"}));
}

bool SameShuffle(const Collage& x, const Collage& y) {
  for (size_t i = 0; i < x.covers.size(); ++i) {
    if (x.covers[i].shuffle_position != y.covers[i].shuffle_position) return false;
  }
  return true;
}

TEST(SelectionTest, DeterministicAndOnlyTheShuffleSeedReshuffles) {
  const std::vector<Cover> covers = RandomCovers(30, 9);
  SelectionOptions o;
  o.shuffle_seed = 1;
  auto a = SelectCollage(covers, o);
  auto b = SelectCollage(covers, o);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->covers.size(), 9u);
  EXPECT_TRUE(SameShuffle(*a, *b));
  bool any_reshuffled = false;
  for (uint64_t seed = 2; seed < 12; ++seed) {
    o.shuffle_seed = seed;
    auto c = SelectCollage(covers, o);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->dominant, a->dominant);
    ASSERT_EQ(c->covers.size(), a->covers.size());
    for (size_t i = 0; i < a->covers.size(); ++i) {
      EXPECT_EQ(c->covers[i].id, a->covers[i].id);
      EXPECT_EQ(c->covers[i].score, a->covers[i].score);
      EXPECT_EQ(b->covers[i].id, a->covers[i].id);
      EXPECT_EQ(b->covers[i].cut_out, a->covers[i].cut_out);
    }
    any_reshuffled |= !SameShuffle(*a, *c);
  }
  EXPECT_TRUE(any_reshuffled);
}

TEST(SelectionTest, Rejects) {
  const std::vector<Cover> ok = {Make("a", 0, {{kBlue, 1}})};
  SelectionOptions bad_k, bad_sizes, bad_factor, bad_fraction, bad_distance, bad_iter;
  bad_k.predominant_colors = 0;
  bad_sizes.collage_size = 13;
  bad_factor.complementary_factor = 1.5;
  bad_fraction.cut_out_fraction = NAN;
  bad_distance.complementary_distance = -1;
  bad_iter.max_iterations = 0;
  const struct {
    const char* name;
    std::vector<Cover> covers;
    SelectionOptions options;
  } cases[] = {
      {"no covers", {}, {}},
      {"negative rank", {Make("a", -1, {{kBlue, 1}})}, {}},
      {"empty palette", {Make("a", 0, {})}, {}},
      {"share over 1", {Make("a", 0, {{kBlue, 2}})}, {}},
      {"nothing to weigh", {Make("a", 0, {{kBlue, 0.004}}), Make("b", 1, {{kBlue, 0}})}, {}},
      {"predominant 0", ok, bad_k},
      {"collage bigger than kept", ok, bad_sizes},
      {"factor > 1", ok, bad_factor},
      {"fraction NaN", ok, bad_fraction},
      {"negative distance", ok, bad_distance},
      {"no iterations", ok, bad_iter},
  };
  for (const auto& c : cases) {
    auto r = SelectCollage(c.covers, c.options);
    EXPECT_FALSE(r.ok()) << c.name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.name;
    }
  }
}

}  // namespace
}  // namespace sparkify::collage
