#include "layout/layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

namespace sparkify::layout {
namespace {

using Kind = Item::Kind;

// `cutouts` cut-outs then `covers` covers, ranks in a scrambled order (so sorting matters),
// every third one non-square.
std::vector<Item> MakeItems(int cutouts, int covers) {
  std::vector<Item> items;
  const int total = cutouts + covers;
  for (int i = 0; i < total; ++i) {
    Item it;
    it.kind = i < cutouts ? Kind::kCutout : Kind::kCover;
    it.key = std::to_string(i);
    it.key.insert(0, 1, 'k');
    it.rank = (i * 7) % std::max(total, 1);  // 7 is coprime to the totals used
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

double LongerSide(const Placement& p) { return std::max(p.width, p.height); }
double Distance(const Placement& p, double size) {
  return std::hypot(p.x - size / 2, p.y - size / 2);
}

// Half-extents of the rotated box.
std::pair<double, double> HalfBox(const Placement& p) {
  const double r = p.rotation * std::numbers::pi / 180;
  const double c = std::abs(std::cos(r)), s = std::abs(std::sin(r));
  return {0.5 * (p.width * c + p.height * s), 0.5 * (p.width * s + p.height * c)};
}

struct Case {
  const char* name;
  int cutouts;
  int covers;
  int size;
};

class ArrangeTest : public ::testing::TestWithParam<Case> {};

const Case kCases[] = {
    {"original_nine", 5, 4, 400}, {"one_cutout", 1, 0, 400},   {"one_cover", 0, 1, 400},
    {"covers_only", 0, 9, 400},   {"cutouts_only", 9, 0, 400}, {"two_and_two", 2, 2, 400},
    {"thirty", 18, 12, 400},      {"small_canvas", 5, 4, 120}, {"big_canvas", 5, 4, 1200},
};

TEST_P(ArrangeTest, HasTheOriginalLook) {
  const Case& c = GetParam();
  const auto items = MakeItems(c.cutouts, c.covers);
  const Rgb bg{12, 200, 80};
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xffffffffffffffffull}) {
    SCOPED_TRACE(seed);
    const Layout l = Arrange(items, bg, seed, {.size = c.size});
    EXPECT_EQ(l.size, c.size);
    EXPECT_EQ(l.background, bg);
    ASSERT_EQ(l.placements.size(), items.size());

    // Every item exactly once; z unique and ascending in paint order.
    std::set<size_t> seen;
    for (size_t i = 0; i < l.placements.size(); ++i) {
      const Placement& p = l.placements[i];
      ASSERT_LT(p.item, items.size());
      EXPECT_TRUE(seen.insert(p.item).second) << "item placed twice: " << p.item;
      if (i > 0) {
        EXPECT_LT(l.placements[i - 1].z, p.z);
      }
    }

    // On the canvas: the rotated box lies inside (everything here fits).
    for (const Placement& p : l.placements) {
      const auto [hx, hy] = HalfBox(p);
      EXPECT_GE(p.x - hx, -1e-9) << p.item;
      EXPECT_LE(p.x + hx, c.size + 1e-9) << p.item;
      EXPECT_GE(p.y - hy, -1e-9) << p.item;
      EXPECT_LE(p.y + hy, c.size + 1e-9) << p.item;
      EXPECT_GT(p.width, 0);
      EXPECT_GT(p.height, 0);
    }

    // Aspect ratio kept.
    for (const Placement& p : l.placements) {
      const Item& it = items[p.item];
      if (it.width > 0 && it.height > 0) {
        EXPECT_NEAR(p.width / p.height, static_cast<double>(it.width) / it.height, 0.02);
      } else {
        EXPECT_DOUBLE_EQ(p.width, p.height);
      }
    }

    // Cut-outs in front of every cover; in paint order, ranks descend within each kind
    // (best rank drawn last).
    std::vector<const Placement*> cuts, covs;
    for (const Placement& p : l.placements) {
      (items[p.item].kind == Kind::kCutout ? cuts : covs).push_back(&p);
    }
    if (!cuts.empty() && !covs.empty()) {
      EXPECT_LT(covs.back()->z, cuts.front()->z);
    }
    for (const auto* group : {&cuts, &covs}) {
      for (size_t i = 1; i < group->size(); ++i) {
        EXPECT_GT(items[(*group)[i - 1]->item].rank, items[(*group)[i]->item].rank);
      }
    }

    // Cut-outs: the better the rank, the larger and nearer the centre; tilts alternate.
    std::vector<const Placement*> by_rank(cuts.rbegin(), cuts.rend());
    for (size_t i = 1; i < by_rank.size(); ++i) {
      EXPECT_GE(LongerSide(*by_rank[i - 1]), LongerSide(*by_rank[i]) - 1e-9);
      EXPECT_LE(Distance(*by_rank[i - 1], c.size), Distance(*by_rank[i], c.size) + 1e-9);
      EXPECT_LT(by_rank[i - 1]->rotation * by_rank[i]->rotation, 0) << "not alternately tilted";
    }
    for (const auto* p : by_rank) EXPECT_GE(std::abs(p->rotation), 3.9);
    if (by_rank.size() >= 2) {
      EXPECT_GT(LongerSide(*by_rank.front()), LongerSide(*by_rank.back()));
      EXPECT_LT(Distance(*by_rank.front(), c.size), Distance(*by_rank.back(), c.size));
    }

    // Covers smaller than every cut-out.
    for (const auto* cv : covs) {
      for (const auto* ct : cuts) EXPECT_LT(LongerSide(*cv), LongerSide(*ct));
    }
  }
}

TEST_P(ArrangeTest, DeterministicPerSeedAndSeedsDiffer) {
  const Case& c = GetParam();
  const auto items = MakeItems(c.cutouts, c.covers);
  auto flat = [](const Layout& l) {
    std::vector<double> v;
    for (const auto& p : l.placements) {
      v.insert(v.end(), {static_cast<double>(p.item), p.x, p.y, p.width, p.height, p.rotation,
                         static_cast<double>(p.z)});
    }
    return v;
  };
  std::set<std::vector<double>> distinct;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const auto a = flat(Arrange(items, {}, seed, {.size = c.size}));
    EXPECT_EQ(a, flat(Arrange(items, {}, seed, {.size = c.size})));
    distinct.insert(a);
  }
  EXPECT_EQ(distinct.size(), 8u) << "different seeds gave the same layout";
}

INSTANTIATE_TEST_SUITE_P(Cases, ArrangeTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Arrange, EmptyInputGivesEmptyLayout) {
  const Layout l = Arrange({}, {1, 2, 3}, 7);
  EXPECT_EQ(l.size, 400);
  EXPECT_EQ(l.background, (Rgb{1, 2, 3}));
  EXPECT_TRUE(l.placements.empty());
}

TEST(Arrange, NonPositiveSizeMeansTheDefault) {
  EXPECT_EQ(Arrange(MakeItems(1, 1), {}, 1, {.size = 0}).size, 400);
  EXPECT_EQ(Arrange(MakeItems(1, 1), {}, 1, {.size = -5}).size, 400);
}

TEST(Arrange, BestCutoutNearTheMiddleAndLarge) {
  const Layout l = Arrange(MakeItems(5, 4), {}, 3);
  const auto items = MakeItems(5, 4);
  const Placement& top = l.placements.back();  // drawn last
  EXPECT_EQ(items[top.item].kind, Kind::kCutout);
  EXPECT_EQ(items[top.item].rank, 0);
  EXPECT_LT(Distance(top, 400), 0.06 * 400);
  EXPECT_GT(LongerSide(top), 0.45 * 400);
}

TEST(Arrange, FewItemsAreDrawnLargerAndManySmaller) {
  auto top = [](int cutouts, int covers) {
    return LongerSide(Arrange(MakeItems(cutouts, covers), {}, 5).placements.back());
  };
  EXPECT_GT(top(2, 1), top(5, 4));
  EXPECT_LT(top(18, 12), top(5, 4));
}

TEST(Arrange, RandomInputsKeepTheInvariants) {
  uint64_t state = 12345;
  auto next = [&state](uint64_t n) {  // a small LCG: the sweep is the same on every run
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<Item> items(1 + next(40));
    for (auto& it : items) {
      it.kind = next(2) ? Kind::kCutout : Kind::kCover;
      it.rank = static_cast<int>(next(10));  // ties on purpose
      it.width = static_cast<int>(next(3000));
      it.height = static_cast<int>(next(3000));
    }
    const int size = 50 + static_cast<int>(next(1000));
    const Layout l = Arrange(items, {}, next(1u << 30), {.size = size});
    ASSERT_EQ(l.placements.size(), items.size()) << round;
    std::set<size_t> seen;
    std::set<int> zs;
    for (const Placement& p : l.placements) {
      EXPECT_TRUE(seen.insert(p.item).second) << round;
      EXPECT_TRUE(zs.insert(p.z).second) << round;
      const auto [hx, hy] = HalfBox(p);
      EXPECT_GE(p.x - hx, -1e-6) << round;
      EXPECT_LE(p.x + hx, size + 1e-6) << round;
      EXPECT_GE(p.y - hy, -1e-6) << round;
      EXPECT_LE(p.y + hy, size + 1e-6) << round;
      EXPECT_GT(std::min(p.width, p.height), 0) << round;
    }
  }
}

TEST(Arrange, ExtremeAspectRatiosStayVisible) {
  std::vector<Item> items(2);
  items[0] = {Kind::kCutout, "a", 0, 4000, 1};
  items[1] = {Kind::kCover, "b", 1, 1, 4000};
  const Layout l = Arrange(items, {}, 9);
  for (const auto& p : l.placements) {
    EXPECT_GE(std::min(p.width, p.height), 1.0);
    EXPECT_GT(std::max(p.width, p.height), 50.0);
  }
}

}  // namespace
}  // namespace sparkify::layout
