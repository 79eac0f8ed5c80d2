#include "layout/layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <set>

namespace sparkify::layout {
namespace {

using Kind = Item::Kind;

// `cutouts` cut-outs (qualities in a scrambled order) then `covers` covers, ranks scrambled
// too, every third one non-square.
std::vector<Item> MakeItems(int cutouts, int covers) {
  std::vector<Item> items;
  const int total = cutouts + covers;
  for (int i = 0; i < total; ++i) {
    Item it;
    it.kind = i < cutouts ? Kind::kCutout : Kind::kCover;
    it.key = "k";
    it.key += std::to_string(i);
    it.rank = (i * 7) % std::max(total, 1);  // 7 is coprime to the totals used
    it.quality = it.kind == Kind::kCutout ? 0.5 + 0.05 * ((i * 3) % 7) : 0;
    if (i % 3 == 1) {
      it.width = 640;
      it.height = 480;
    } else if (i % 3 == 2) {
      it.width = 300;
      it.height = 500;
    }
    items.push_back(it);
  }
  return items;
}

// Half-extents of the rotated box.
std::pair<double, double> HalfBox(const Placement& p) {
  const double r = p.rotation * std::numbers::pi / 180;
  const double c = std::abs(std::cos(r)), s = std::abs(std::sin(r));
  return {0.5 * (p.width * c + p.height * s), 0.5 * (p.width * s + p.height * c)};
}

bool Covers(const Placement& p, double x, double y) {
  const double r = p.rotation * std::numbers::pi / 180;
  const double dx = x - p.x, dy = y - p.y;
  const double u = std::cos(r) * dx + std::sin(r) * dy, v = -std::sin(r) * dx + std::cos(r) * dy;
  return std::abs(u) <= p.width / 2 && std::abs(v) <= p.height / 2;
}

const Rgb kGround{12, 120, 80};
const Rgb kAccent{243, 135, 175};

// The invariants every layout keeps.
void ExpectInvariants(const std::vector<Item>& items, const Layout& l) {
  ASSERT_EQ(l.placements.size(), items.size());
  std::set<size_t> seen;
  int last_z = -1;
  bool hero_seen = false;
  for (const Placement& p : l.placements) {
    ASSERT_LT(p.item, items.size());
    EXPECT_TRUE(seen.insert(p.item).second) << "item placed twice";
    EXPECT_GT(p.z, last_z);
    last_z = p.z;
    // The backdrop first, then the heroes.
    const bool hero = items[p.item].kind == Kind::kCutout;
    if (hero) hero_seen = true;
    EXPECT_TRUE(hero || !hero_seen) << "a cover drawn over a cut-out";
    EXPECT_EQ(p.frame > 0, !hero);
    EXPECT_TRUE(p.shadow);
    // Aspect kept (the frame is around the image).
    const Item& it = items[p.item];
    const double iw = p.width - 2 * p.frame, ih = p.height - 2 * p.frame;
    if (it.width > 0 && it.height > 0 && std::min(iw, ih) >= 4) {  // not clamped to a sliver
      const double image_ratio = (p.width - 2 * p.frame) / (p.height - 2 * p.frame);
      EXPECT_NEAR(image_ratio, double(it.width) / it.height, 0.02);
    }
    // Nothing cut off: the rotated box is inside the canvas.
    auto [hx, hy] = HalfBox(p);
    EXPECT_GE(p.x - hx, -1e-6);
    EXPECT_GE(p.y - hy, -1e-6);
    EXPECT_LE(p.x + hx, l.size + 1e-6);
    EXPECT_LE(p.y + hy, l.size + 1e-6);
  }
  for (const Stroke& s : l.marks) {
    EXPECT_GE(s.points.size(), 2u);
    for (auto [x, y] : s.points) {
      EXPECT_TRUE(x >= 0 && y >= 0 && x <= l.size && y <= l.size) << x << "," << y;
    }
    // On the ground: no image under the stroke, along each segment (every half width) and
    // across it (its width included).
    for (size_t k = 0; k + 1 < s.points.size(); ++k) {
      const auto [x0, y0] = s.points[k];
      const auto [x1, y1] = s.points[k + 1];
      const int steps = 1 + static_cast<int>(std::hypot(x1 - x0, y1 - y0) / (s.width / 2));
      for (int i = 0; i <= steps; ++i) {
        const double x = x0 + (x1 - x0) * i / steps, y = y0 + (y1 - y0) * i / steps;
        for (const Placement& p : l.placements) {
          for (auto [ox, oy] :
               {std::pair{0.0, 0.0}, {1.0, 0.0}, {-1.0, 0.0}, {0.0, 1.0}, {0.0, -1.0}}) {
            ASSERT_FALSE(Covers(p, x + ox * s.width / 2, y + oy * s.width / 2))
                << "a mark at " << x << "," << y << " over item " << p.item;
          }
        }
      }
    }
  }
}

struct Case {
  const char* name;
  int cutouts;
  int covers;
};

class ArrangeTest : public ::testing::TestWithParam<Case> {};

const Case kCases[] = {
    {"five_and_four", 5, 4}, {"one_cutout", 1, 0},  {"one_cover", 0, 1},     {"covers_only", 0, 9},
    {"cutouts_only", 9, 0},  {"two_and_two", 2, 2}, {"three_and_six", 3, 6}, {"thirty", 18, 12},
};

TEST_P(ArrangeTest, KeepsTheInvariants) {
  const Case& c = GetParam();
  const auto items = MakeItems(c.cutouts, c.covers);
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xffffffffffffffffull}) {
    SCOPED_TRACE(seed);
    const Layout l = Arrange(items, kGround, kAccent, seed);
    EXPECT_EQ(l.size, 1080);
    EXPECT_EQ(l.background, kGround);
    ExpectInvariants(items, l);
  }
}

TEST_P(ArrangeTest, DeterministicPerSeedAndSeedsDiffer) {
  const Case& c = GetParam();
  const auto items = MakeItems(c.cutouts, c.covers);
  const Layout a = Arrange(items, kGround, kAccent, 7), b = Arrange(items, kGround, kAccent, 7);
  const Layout d = Arrange(items, kGround, kAccent, 8);
  bool differs = false;
  for (size_t i = 0; i < a.placements.size(); ++i) {
    EXPECT_EQ(a.placements[i].x, b.placements[i].x);
    EXPECT_EQ(a.placements[i].rotation, b.placements[i].rotation);
    differs |= a.placements[i].x != d.placements[i].x;
  }
  EXPECT_TRUE(differs);
}

INSTANTIATE_TEST_SUITE_P(Cases, ArrangeTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Arrange, TheBestMaskIsTheLargestFrontmostAndCentral) {
  auto items = MakeItems(5, 4);
  items[3].quality = 0.99;  // the best mask
  const Layout l = Arrange(items, kGround, kAccent, 3);
  const Placement& top = l.placements.back();
  EXPECT_EQ(top.item, 3u);
  for (const Placement& p : l.placements) {
    if (p.item != 3) {
      EXPECT_LT(std::max(p.width, p.height), std::max(top.width, top.height) + 1e-9);
    }
  }
  EXPECT_LT(std::hypot(top.x - 540, top.y - 540), 0.1 * 1080);
}

TEST(Arrange, NoEmptyCornerWithFourCoversOrMore) {
  const auto items = MakeItems(5, 4);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Layout l = Arrange(items, kGround, kAccent, seed);
    // A point in each corner cell, halfway to the canvas corner: some image covers it.
    for (auto [cx, cy] : {std::pair{0.12, 0.12}, {0.88, 0.12}, {0.12, 0.88}, {0.88, 0.88}}) {
      bool covered = false;
      for (const Placement& p : l.placements) covered |= Covers(p, cx * 1080, cy * 1080);
      EXPECT_TRUE(covered) << "seed " << seed << ": corner " << cx << "," << cy << " is empty";
    }
  }
}

TEST(Arrange, EveryCornerIsUsedFromFourImagesOn) {
  for (auto [cutouts, covers] : {std::pair{1, 3}, {2, 2}, {3, 1}, {4, 0}, {1, 5}, {2, 4}}) {
    const auto items = MakeItems(cutouts, covers);
    for (uint64_t seed = 0; seed < 20; ++seed) {
      const Layout l = Arrange(items, kGround, kAccent, seed);
      for (auto [cx, cy] : {std::pair{0.2, 0.2}, {0.8, 0.2}, {0.2, 0.8}, {0.8, 0.8}}) {
        bool covered = false;
        for (const Placement& p : l.placements) covered |= Covers(p, cx * 1080, cy * 1080);
        EXPECT_TRUE(covered) << cutouts << " cut-outs, " << covers << " covers, seed " << seed
                             << ": corner " << cx << "," << cy << " is empty";
      }
    }
  }
}

TEST(Arrange, FewCoversSendHeroesTowardTheEmptyCorners) {
  const auto items = MakeItems(5, 1);  // one print: three corners to fill with heroes
  const Layout l = Arrange(items, kGround, kAccent, 11);
  int near_corners = 0;
  for (const Placement& p : l.placements) {
    if (items[p.item].kind != Kind::kCutout) continue;
    near_corners += std::abs(p.x - 540) > 180 && std::abs(p.y - 540) > 150;
  }
  EXPECT_GE(near_corners, 3);
}

TEST(Arrange, GroundFrameShadowAndMarks) {
  const Layout l = Arrange(MakeItems(3, 3), kGround, kAccent, 1);
  EXPECT_EQ(l.background_edge, (Rgb{10, 98, 66}));  // 82% of the ground
  EXPECT_GT(l.frame_width, 0);
  EXPECT_GT(l.frame_inset, l.frame_width);
  EXPECT_GT(l.shadow.blur, 0);
  EXPECT_GT(l.shadow.opacity, 0);
  ASSERT_FALSE(l.marks.empty());
  // White shows more than the pink accent on this dark green.
  EXPECT_EQ(l.marks[0].color, (Rgb{255, 255, 255}));
  const Layout light = Arrange(MakeItems(3, 3), Rgb{240, 230, 200}, Rgb{15, 25, 55}, 1);
  ASSERT_FALSE(light.marks.empty());
  EXPECT_EQ(light.marks[0].color, (Rgb{15, 25, 55}));
}

// The marks go where the ground shows (ExpectInvariants checks that no image is under them);
// a collage of a few images keeps all of them, a crowded one may keep fewer.
TEST(Arrange, MarksFindTheGround) {
  const Case cases[] = {{"one_cutout", 1, 0},
                        {"two_and_two", 2, 2},
                        {"three_and_three", 3, 3},
                        {"five_and_four", 5, 4},
                        {"thirty", 18, 12}};
  for (const Case& c : cases) {
    const auto items = MakeItems(c.cutouts, c.covers);
    int full = 0, none = 0, most = 0;
    constexpr int kSeeds = 40;
    for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
      const Layout l = Arrange(items, kGround, kAccent, seed);
      ExpectInvariants(items, l);
      full += l.marks.size() == 5;  // two sparkles (two strokes each) and the squiggle
      none += l.marks.empty();
      most += l.marks.size() >= 3;  // a sparkle and the squiggle, or two sparkles
    }
    std::printf("[ marks  ] %s, %d layouts: all 5 strokes in %d, 3+ in %d, none in %d\n", c.name,
                kSeeds, full, most, none);
    if (c.cutouts + c.covers <= 6) {
      EXPECT_EQ(none, 0) << c.name;
      EXPECT_GE(most, kSeeds * 3 / 4) << c.name;
    }
  }
}

TEST(Arrange, EmptyInputAndNonPositiveSize) {
  const Layout l = Arrange({}, kGround, kAccent, 1);
  EXPECT_TRUE(l.placements.empty());
  EXPECT_EQ(l.background, kGround);
  EXPECT_EQ(Arrange(MakeItems(1, 1), kGround, kAccent, 1, {.size = -5}).size, 1080);
  EXPECT_EQ(Arrange(MakeItems(1, 1), kGround, kAccent, 1, {.size = 400}).size, 400);
}

TEST(Arrange, RandomInputsKeepTheInvariants) {
  uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int round = 0; round < 300; ++round) {
    std::vector<Item> items;
    const int n = 1 + static_cast<int>(next() >> 59);  // 1..32
    for (int i = 0; i < std::min(n, 40); ++i) {
      Item it;
      it.kind = (next() >> 63) ? Kind::kCutout : Kind::kCover;
      it.rank = static_cast<int>(next() >> 61);   // ties on purpose
      it.width = static_cast<int>(next() >> 54);  // 0..1023, some 0
      it.height = static_cast<int>(next() >> 55);
      it.quality = static_cast<double>(next() >> 11) * 0x1.0p-53;
      items.push_back(it);
    }
    const int size = 100 + static_cast<int>(next() >> 54);
    SCOPED_TRACE(round);
    ExpectInvariants(items, Arrange(items, kGround, kAccent, next(), {.size = size}));
  }
}

TEST(Arrange, ExtremeAspectRatiosStayVisible) {
  std::vector<Item> items(2);
  items[0] = {Kind::kCutout, "a", 0, 4000, 10, 0.9};
  items[1] = {Kind::kCover, "b", 1, 10, 4000, 0};
  const Layout l = Arrange(items, kGround, kAccent, 5);
  ExpectInvariants(items, l);
  for (const Placement& p : l.placements) {
    EXPECT_GE(std::min(p.width, p.height), 1.0);
  }
}

}  // namespace
}  // namespace sparkify::layout
