#include "collage/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "collage/random.h"

namespace sparkify::collage {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double Dist2(const Point3& x, const Point3& y) {
  const double d0 = x[0] - y[0];
  const double d1 = x[1] - y[1];
  const double d2 = x[2] - y[2];
  return d0 * d0 + d1 * d1 + d2 * d2;
}

// Lloyd's algorithm with Hamerly's bounds: for each point an upper bound on the distance to
// its centre and a lower bound on the distance to every other centre; for each centre half
// the distance to the nearest other centre. A point whose upper bound is below either needs
// no distance computation this round. The result is Lloyd's: every point that could have a
// new nearest centre is recomputed exactly, and near-ties (within margin_) always are.
//
// Lloyd takes 50-200 rounds to settle on photos, most of them moving a handful of points, so
// a round must be cheap when little moves: cluster sums are updated as points move instead
// of recomputed, and bounds are stored relative to the centres' accumulated drift (upper =
// stored + drift of its centre, lower = stored - sum over rounds of the largest move), so a
// round reads every point's bounds but writes only those of the points it examines.
class Hamerly {
 public:
  Hamerly(std::span<const WeightedPoint> points, std::vector<Point3> centres)
      : pts_(points),
        centres_(std::move(centres)),
        alive_(centres_.size(), 1),
        drift_(centres_.size(), 0),
        safe_near_(centres_.size(), kInf),
        safe_gap_(centres_.size(), 0),
        sums_(centres_.size(), Point3{0, 0, 0}),
        weights_(centres_.size(), 0),
        assigned_(points.size(), 0),
        upper_(points.size(), kInf),
        lower_(points.size(), -kInf) {
    // Bounds are trusted only with this margin, so that rounding in them can never skip a
    // point that exact distances would move.
    double scale = 1;
    for (const WeightedPoint& p : pts_) {
      for (double c : p.position) scale = std::max(scale, std::abs(c));
    }
    margin_ = 1e-9 * scale;
  }

  KMeansResult Run(int max_iterations) {
    KMeansResult result;
    for (size_t i = 0; i < pts_.size(); ++i) {
      AssignExactly(i);
      Add(i, assigned_[i], +1);
    }
    while (result.iterations < max_iterations) {
      ++result.iterations;
      const bool relocated = ReseedEmptyClusters();
      MoveCentres();
      const bool changed = AssignPass();
      if (!changed && !relocated) {
        result.converged = true;
        break;
      }
    }
    result.clusters = FinalClusters();
    return result;
  }

 private:
  // Adds (sign +1) or removes (-1) point i to or from cluster j's sums.
  void Add(size_t i, size_t j, int sign) {
    const WeightedPoint& p = pts_[i];
    const double w = sign * static_cast<double>(p.weight);
    for (size_t c = 0; c < 3; ++c) sums_[j][c] += w * p.position[c];
    if (sign > 0) {
      weights_[j] += p.weight;
    } else {
      weights_[j] -= p.weight;
    }
  }

  // Nearest alive centre by exact squared distance, lowest index on ties; sets both bounds.
  void AssignExactly(size_t i) {
    const Point3& x = pts_[i].position;
    double best = kInf;
    double second = kInf;
    uint32_t best_j = assigned_[i];
    for (uint32_t j = 0; j < centres_.size(); ++j) {
      if (!alive_[j]) continue;
      const double d2 = Dist2(x, centres_[j]);
      if (d2 < best) {
        second = best;
        best = d2;
        best_j = j;
      } else if (d2 < second) {
        second = d2;
      }
    }
    assigned_[i] = best_j;
    upper_[i] = std::sqrt(best) - drift_[best_j];
    lower_[i] = std::sqrt(second) + max_drift_;
  }

  // Reassigns the points whose bounds no longer prove their centre the nearest.
  // Returns whether any assignment changed.
  bool AssignPass() {
    bool changed = false;
    for (size_t i = 0; i < pts_.size(); ++i) {
      const uint32_t a = assigned_[i];
      // Safe if upper < half gap, or upper < lower; both sides shifted by the drifts.
      if (upper_[i] < safe_near_[a] || upper_[i] + safe_gap_[a] < lower_[i]) continue;
      const double exact = std::sqrt(Dist2(pts_[i].position, centres_[a]));
      upper_[i] = exact - drift_[a];
      if (upper_[i] < safe_near_[a] || upper_[i] + safe_gap_[a] < lower_[i]) continue;
      AssignExactly(i);
      if (assigned_[i] != a) {
        Add(i, a, -1);
        Add(i, assigned_[i], +1);
        changed = true;
      }
    }
    return changed;
  }

  // Moves each empty cluster onto the point farthest from its own centre, taking it from its
  // cluster. Returns whether any point moved.
  bool ReseedEmptyClusters() {
    bool relocated = false;
    std::vector<char> moved;
    for (bool again = true; again;) {
      again = false;
      for (uint32_t j = 0; j < centres_.size(); ++j) {
        if (!alive_[j] || weights_[j] != 0) continue;
        if (moved.empty()) moved.assign(pts_.size(), 0);
        const size_t far = Farthest(moved);
        if (far == pts_.size()) {
          alive_[j] = 0;  // every point sits on its centre: nothing to split off
          continue;
        }
        const uint32_t donor = assigned_[far];
        Add(far, donor, -1);
        if (weights_[donor] == 0) again = true;
        sums_[j] = Point3{0, 0, 0};
        Add(far, j, +1);
        assigned_[far] = j;
        moved[far] = 1;
        upper_[far] = kInf;  // its bounds referred to the old centre: force a recheck
        lower_[far] = -kInf;
        relocated = true;
      }
    }
    return relocated;
  }

  // The point farthest from its centre, not yet moved this round (ties: lowest index);
  // pts_.size() if every candidate sits exactly on its centre.
  size_t Farthest(const std::vector<char>& moved) const {
    size_t far = pts_.size();
    double far_d2 = 0;
    for (size_t i = 0; i < pts_.size(); ++i) {
      if (moved[i]) continue;
      const double d2 = Dist2(pts_[i].position, centres_[assigned_[i]]);
      if (d2 > far_d2) {
        far_d2 = d2;
        far = i;
      }
    }
    return far;
  }

  Point3 Mean(size_t j) const {
    const double w = static_cast<double>(weights_[j]);
    return Point3{sums_[j][0] / w, sums_[j][1] / w, sums_[j][2] / w};
  }

  // Centres to their clusters' means; accumulates their drift; recomputes the thresholds
  // AssignPass compares stored bounds with.
  void MoveCentres() {
    double max_move = 0;
    for (size_t j = 0; j < centres_.size(); ++j) {
      if (!alive_[j]) continue;
      const Point3 mean = Mean(j);
      const double move = std::sqrt(Dist2(centres_[j], mean));
      drift_[j] += move;
      max_move = std::max(max_move, move);
      centres_[j] = mean;
    }
    max_drift_ += max_move;
    for (size_t j = 0; j < centres_.size(); ++j) {
      double nearest2 = kInf;
      for (size_t o = 0; o < centres_.size(); ++o) {
        if (o == j || !alive_[o] || !alive_[j]) continue;
        nearest2 = std::min(nearest2, Dist2(centres_[j], centres_[o]));
      }
      // Every other centre is at least 2*half_gap from centre j, so a point nearer than
      // half_gap to j is nearest to j (triangle inequality).
      const double half_gap = 0.5 * std::sqrt(nearest2);
      safe_near_[j] = half_gap - drift_[j] - margin_;
      safe_gap_[j] = drift_[j] + max_drift_ + margin_;
    }
  }

  std::vector<Cluster> FinalClusters() const {
    std::vector<Cluster> out;
    for (size_t j = 0; j < centres_.size(); ++j) {
      if (alive_[j] && weights_[j] > 0) out.push_back(Cluster{Mean(j), weights_[j]});
    }
    std::sort(out.begin(), out.end(), [](const Cluster& x, const Cluster& y) {
      if (x.weight != y.weight) return x.weight > y.weight;
      return x.centre < y.centre;
    });
    return out;
  }

  std::span<const WeightedPoint> pts_;
  std::vector<Point3> centres_;
  std::vector<char> alive_;
  std::vector<double> drift_;  // per centre: total distance moved so far
  double max_drift_ = 0;       // sum over rounds of the largest move
  double margin_ = 0;
  // Per centre, in stored-bound terms: a point is safe if upper < safe_near (it is within
  // half the gap to the nearest other centre), or upper + safe_gap < lower.
  std::vector<double> safe_near_;
  std::vector<double> safe_gap_;
  std::vector<Point3> sums_;
  std::vector<uint64_t> weights_;
  std::vector<uint32_t> assigned_;
  std::vector<double> upper_;  // bound on the distance to its centre, minus that centre's drift
  std::vector<double> lower_;  // bound on the distance to any other centre, plus max_drift_
};

// k-means++: the first centre drawn in proportion to weight, each next one in proportion to
// weight times the squared distance to the nearest centre chosen so far. Stops early when
// every point already sits on a centre (fewer distinct points than k).
std::vector<Point3> SeedCentres(std::span<const WeightedPoint> pts, uint64_t total_weight, size_t k,
                                uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::vector<Point3> centres;
  const uint64_t r = internal::UniformBelow(engine, total_weight);
  uint64_t cumulative = 0;
  for (const WeightedPoint& p : pts) {
    cumulative += p.weight;
    if (cumulative > r) {
      centres.push_back(p.position);
      break;
    }
  }
  std::vector<double> nearest2(pts.size(), kInf);
  while (centres.size() < k) {
    double potential = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      nearest2[i] = std::min(nearest2[i], Dist2(pts[i].position, centres.back()));
      potential += static_cast<double>(pts[i].weight) * nearest2[i];
    }
    if (!(potential > 0)) break;
    const double u = internal::Uniform01(engine) * potential;
    double acc = 0;
    size_t chosen = pts.size();
    for (size_t i = 0; i < pts.size(); ++i) {
      const double term = static_cast<double>(pts[i].weight) * nearest2[i];
      if (term <= 0) continue;
      chosen = i;  // the last candidate, should rounding leave acc <= u at the end
      acc += term;
      if (acc > u) break;
    }
    centres.push_back(pts[chosen].position);
  }
  return centres;
}

}  // namespace

namespace internal {

KMeansResult Lloyd(std::span<const WeightedPoint> points, std::vector<Point3> centres,
                   int max_iterations) {
  return Hamerly(points, std::move(centres)).Run(max_iterations);
}

}  // namespace internal

Result<KMeansResult> KMeans(std::span<const WeightedPoint> points, const KMeansOptions& options) {
  if (options.clusters < 1 || options.clusters > kMaxClusters) {
    return Status::InvalidArgument("k-means: clusters must be in [1, 256]");
  }
  if (options.max_iterations < 1) {
    return Status::InvalidArgument("k-means: max_iterations must be >= 1");
  }
  constexpr uint64_t kMaxTotalWeight = uint64_t{1} << 53;  // exact in a double
  std::vector<WeightedPoint> pts;
  uint64_t total = 0;
  for (const WeightedPoint& p : points) {
    if (p.weight == 0) continue;
    for (double c : p.position) {
      if (!std::isfinite(c)) return Status::InvalidArgument("k-means: non-finite coordinate");
    }
    if (p.weight > kMaxTotalWeight - total) {
      return Status::InvalidArgument("k-means: total weight exceeds 2^53");
    }
    total += p.weight;
    pts.push_back(p);
  }
  if (pts.empty()) return Status::InvalidArgument("k-means: no point with positive weight");
  if (pts.size() > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("k-means: more than 2^32 - 1 points");
  }
  std::vector<Point3> centres =
      SeedCentres(pts, total, static_cast<size_t>(options.clusters), options.seed);
  return internal::Lloyd(pts, std::move(centres), options.max_iterations);
}

}  // namespace sparkify::collage
