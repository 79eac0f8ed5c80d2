// Weighted k-means on 3-D points (colours): k-means++ seeding, then Lloyd iterations.
//
// A point of weight w counts as w copies of itself, so a caller may pass a histogram of
// distinct colours instead of every pixel, or a colour "repeated share*100 times" as one point
// of that weight, and get exactly the clustering of the repeated data. Lloyd's iterations are
// accelerated with Hamerly's bounds, which skip distance computations that cannot change an
// assignment but keep Lloyd's result: every point ends in its nearest centre, ties going to
// the lowest centre index.
//
// Deterministic: the same points, options and seed give the same clusters wherever double
// arithmetic is IEEE 754 (random numbers come from std::mt19937_64's raw output, see
// random.h). Thread-safe: pure functions, no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sparkify::collage {

using Point3 = std::array<double, 3>;

struct WeightedPoint {
  Point3 position;
  uint64_t weight = 1;  // 0: the point is ignored
};

// Most clusters KMeans accepts (each round compares every pair of centres).
inline constexpr int kMaxClusters = 256;

struct KMeansOptions {
  // k, the most clusters returned. REQUIRES: 1 <= k <= kMaxClusters. Default: 10.
  int clusters = 10;
  // Lloyd rounds at most (an assignment pass and a centre update each). Default: 300, as
  // scikit-learn's KMeans. REQUIRES: >= 1.
  int max_iterations = 300;
  // Seeds the k-means++ choice of initial centres. Default: 0.
  uint64_t seed = 0;
};

struct Cluster {
  Point3 centre;    // weighted mean of its points
  uint64_t weight;  // total weight of its points, > 0
};

struct KMeansResult {
  // Non-empty clusters, heaviest first; equal weights by centre, lexicographically ascending.
  // Fewer than k when fewer than k distinct points carry weight (k-means++ stops once every
  // point sits on a centre), or when an empty cluster could not be re-seeded.
  std::vector<Cluster> clusters;
  int iterations = 0;      // Lloyd rounds run
  bool converged = false;  // false: stopped by max_iterations with assignments still moving
};

// Clusters the points with positive weight.
// InvalidArgument: no point has positive weight, a coordinate is not finite, the total weight
// exceeds 2^53, or the options are out of range.
Result<KMeansResult> KMeans(std::span<const WeightedPoint> points, const KMeansOptions& options);

namespace internal {

// Lloyd's iterations from the given initial centres (what KMeans runs after k-means++).
// An empty cluster is re-seeded at the point farthest from its centre (ties: lowest point
// index); if every point sits on its centre, the empty cluster is dropped.
// REQUIRES: points have positive weights and finite coordinates; centres is non-empty.
KMeansResult Lloyd(std::span<const WeightedPoint> points, std::vector<Point3> centres,
                   int max_iterations);

}  // namespace internal
}  // namespace sparkify::collage
