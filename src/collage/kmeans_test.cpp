#include "collage/kmeans.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace sparkify::collage {
namespace {

std::vector<Cluster> Sorted(std::vector<Cluster> c) {
  std::sort(c.begin(), c.end(), [](const Cluster& x, const Cluster& y) {
    return x.weight != y.weight ? x.weight > y.weight : x.centre < y.centre;
  });
  return c;
}

void ExpectSameClusters(const std::vector<Cluster>& x, const std::vector<Cluster>& y) {
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].weight, y[i].weight) << i;
    EXPECT_EQ(x[i].centre, y[i].centre) << i;
  }
}

// Textbook Lloyd (every distance, every round), the reference the accelerated one must match.
// Leaves an empty cluster's centre where it is; the data below never empties one.
std::vector<Cluster> ReferenceLloyd(const std::vector<WeightedPoint>& pts,
                                    std::vector<Point3> centres) {
  std::vector<size_t> assigned(pts.size(), SIZE_MAX);
  for (;;) {
    bool changed = false;
    for (size_t i = 0; i < pts.size(); ++i) {
      size_t best = 0;
      double best_d2 = std::numeric_limits<double>::infinity();
      for (size_t j = 0; j < centres.size(); ++j) {
        double d2 = 0;
        for (size_t c = 0; c < 3; ++c) {
          d2 += (pts[i].position[c] - centres[j][c]) * (pts[i].position[c] - centres[j][c]);
        }
        if (d2 < best_d2) best_d2 = d2, best = j;
      }
      changed |= assigned[i] != best;
      assigned[i] = best;
    }
    std::vector<Cluster> clusters(centres.size(), Cluster{Point3{0, 0, 0}, 0});
    for (size_t i = 0; i < pts.size(); ++i) {
      for (size_t c = 0; c < 3; ++c) {
        clusters[assigned[i]].centre[c] += double(pts[i].weight) * pts[i].position[c];
      }
      clusters[assigned[i]].weight += pts[i].weight;
    }
    for (size_t j = 0; j < centres.size(); ++j) {
      EXPECT_GT(clusters[j].weight, 0u) << "test data emptied a cluster";
      for (size_t c = 0; c < 3; ++c) clusters[j].centre[c] /= double(clusters[j].weight);
      centres[j] = clusters[j].centre;
    }
    if (!changed) return Sorted(clusters);
  }
}

std::vector<WeightedPoint> RandomPoints(uint64_t seed, size_t n, bool blobs) {
  std::mt19937_64 rng(seed);
  std::vector<WeightedPoint> pts;
  for (size_t i = 0; i < n; ++i) {
    Point3 p;
    const double base = blobs ? double(rng() % 4) * 60 : 0;
    for (double& c : p) c = base + double(rng() % (blobs ? 50 : 256));
    pts.push_back(WeightedPoint{p, 1 + rng() % 5});
  }
  return pts;
}

TEST(KMeansTest, FewerDistinctPointsThanClusters) {
  const struct {
    std::vector<WeightedPoint> points;
    std::vector<Cluster> expected;
  } cases[] = {
      {{{{255, 0, 0}, 7}, {{0, 0, 255}, 3}}, {{{255, 0, 0}, 7}, {{0, 0, 255}, 3}}},
      {{{{9, 9, 9}, 1}}, {{{9, 9, 9}, 1}}},
      {{{{1, 2, 3}, 2}, {{1, 2, 3}, 2}, {{4, 5, 6}, 0}}, {{{1, 2, 3}, 4}}},
      // Equal weights: ordered by centre.
      {{{{200, 0, 0}, 5}, {{0, 0, 0}, 5}, {{100, 0, 0}, 5}},
       {{{0, 0, 0}, 5}, {{100, 0, 0}, 5}, {{200, 0, 0}, 5}}},
  };
  for (const auto& c : cases) {
    for (uint64_t seed : {0u, 1u, 99u}) {
      auto r = KMeans(c.points, KMeansOptions{10, 300, seed});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(r->converged);
      ExpectSameClusters(r->clusters, c.expected);
    }
  }
}

TEST(KMeansTest, WeightsActAsRepeats) {
  // Integer coordinates and small weights keep every sum exact, so the weighted run and the
  // repeated run must agree bit for bit, seeding included.
  const std::vector<WeightedPoint> weighted = RandomPoints(7, 60, true);
  std::vector<WeightedPoint> repeated;
  for (const WeightedPoint& p : weighted) {
    for (uint64_t i = 0; i < p.weight; ++i) repeated.push_back(WeightedPoint{p.position, 1});
  }
  for (int k : {1, 3, 5, 10}) {
    for (uint64_t seed : {0u, 5u}) {
      auto a = KMeans(weighted, KMeansOptions{k, 300, seed});
      auto b = KMeans(repeated, KMeansOptions{k, 300, seed});
      ASSERT_TRUE(a.ok() && b.ok());
      ExpectSameClusters(a->clusters, b->clusters);
    }
  }
}

TEST(KMeansTest, AcceleratedLloydMatchesTextbookLloyd) {
  for (uint64_t seed = 0; seed < 12; ++seed) {
    const std::vector<WeightedPoint> pts = RandomPoints(seed, 400, seed % 2 == 0);
    for (size_t k : {2u, 4u, 7u}) {
      std::vector<Point3> init;
      for (size_t j = 0; j < k; ++j) init.push_back(pts[j * 13].position);
      const KMeansResult fast = internal::Lloyd(pts, init, 1000);
      EXPECT_TRUE(fast.converged);
      ExpectSameClusters(fast.clusters, ReferenceLloyd(pts, init));
    }
  }
}

TEST(KMeansTest, EmptyClustersAreReseededOrDropped) {
  const struct {
    const char* name;
    std::vector<WeightedPoint> points;
    std::vector<Point3> init;
    std::vector<Cluster> expected;
  } cases[] = {
      {"far centre gets nothing: re-seeded at the farthest point",
       {{{0, 0, 0}, 1}, {{1, 0, 0}, 1}, {{2, 0, 0}, 1}, {{10, 0, 0}, 1}},
       {{0, 0, 0}, {100, 0, 0}},
       {{{1, 0, 0}, 3}, {{10, 0, 0}, 1}}},
      {"duplicate centres",
       {{{0, 0, 0}, 2}, {{50, 0, 0}, 1}},
       {{0, 0, 0}, {0, 0, 0}},
       {{{0, 0, 0}, 2}, {{50, 0, 0}, 1}}},
      {"every point on a centre: the empty one is dropped",
       {{{3, 3, 3}, 4}},
       {{3, 3, 3}, {3, 3, 3}, {200, 0, 0}},
       {{{3, 3, 3}, 4}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const KMeansResult r = internal::Lloyd(c.points, c.init, 100);
    EXPECT_TRUE(r.converged);
    ExpectSameClusters(r.clusters, c.expected);
  }
}

TEST(KMeansTest, DeterministicAndOrdered) {
  const std::vector<WeightedPoint> pts = RandomPoints(3, 2000, false);
  auto a = KMeans(pts, KMeansOptions{10, 300, 42});
  auto b = KMeans(pts, KMeansOptions{10, 300, 42});
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameClusters(a->clusters, b->clusters);
  ASSERT_EQ(a->clusters.size(), 10u);
  uint64_t total = 0;
  for (size_t i = 0; i < a->clusters.size(); ++i) {
    total += a->clusters[i].weight;
    if (i > 0) {
      EXPECT_GE(a->clusters[i - 1].weight, a->clusters[i].weight);
    }
  }
  uint64_t expected_total = 0;
  for (const WeightedPoint& p : pts) expected_total += p.weight;
  EXPECT_EQ(total, expected_total);
}

TEST(KMeansTest, MaxIterationsStopsEarly) {
  const std::vector<WeightedPoint> pts = RandomPoints(11, 3000, false);
  auto r = KMeans(pts, KMeansOptions{10, 1, 0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->iterations, 1);
  EXPECT_FALSE(r->clusters.empty());
}

TEST(KMeansTest, InvalidArguments) {
  const std::vector<WeightedPoint> one = {{{1, 2, 3}, 1}};
  const struct {
    const char* name;
    std::vector<WeightedPoint> points;
    KMeansOptions options;
  } cases[] = {
      {"no points", {}, {}},
      {"only zero weights", {{{1, 2, 3}, 0}}, {}},
      {"k = 0", one, {0, 300, 0}},
      {"no iterations", one, {3, 0, 0}},
      {"NaN", {{{NAN, 0, 0}, 1}}, {}},
      {"infinity", {{{0, INFINITY, 0}, 1}}, {}},
      {"weight overflow", {{{0, 0, 0}, uint64_t{1} << 53}, {{1, 1, 1}, 1}}, {}},
  };
  for (const auto& c : cases) {
    auto r = KMeans(c.points, c.options);
    EXPECT_FALSE(r.ok()) << c.name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.name;
    }
  }
}

}  // namespace
}  // namespace sparkify::collage
