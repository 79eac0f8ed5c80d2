// WinogradConv: see internal/winograd_conv.h. Here: which instruction set, the weights'
// conversion, the tiles and how they are shared between threads.
#include "nn/internal/winograd_conv.h"

#include <algorithm>
#include <system_error>
#include <thread>

#include "nn/internal/winograd_block.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sparkify::nn::internal {
namespace {

constexpr int kPoints = 36;
// A thread's V and M for one block of tiles are meant to stay in its L2 cache (1 MiB per core
// on Zen 4 and 5, 1-2 MiB on recent Intel): blocks are sized to about this much, but never
// fewer than 4 x kWinogradRows tiles, below which streaming the weights would dominate.
constexpr size_t kBlockBytes = 768 << 10;
constexpr int kMinRows = 4 * kWinogradRows, kMaxRows = 16 * kWinogradRows;

using BlockFn = void (*)(const WinogradBlock&);

BlockFn Pick(int block) {
  if (block == 16 && __builtin_cpu_supports("avx512f")) return WinogradBlockAvx512;
  if (block == 8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return WinogradBlockAvx2;
  }
  return nullptr;
}

// Output channels per weight group: as many vectors as the kernel keeps in registers (4 of
// 16 channels on AVX-512, 2 of 8 on AVX2) when they divide the channels.
int Width(const WinogradConvShape& s) {
  const int vectors = s.out_c / s.block;
  for (int nv : {s.block == 16 ? 4 : 2, 2, 1}) {
    if (vectors % nv == 0) return nv * s.block;
  }
  return s.block;
}

int Tiles(int size, int dil) {  // tiles along one side, over all `dil` phases
  int n = 0;
  for (int phase = 0; phase < dil && phase < size; ++phase) {
    const int pixels = (size - phase + dil - 1) / dil;
    n += (pixels + 3) / 4;
  }
  return n;
}

// Rows of tiles a block holds.
int BlockRows(const WinogradConvShape& s, int threads) {
  const size_t per_tile = size_t{kPoints} * (s.in_c + s.out_c) * sizeof(float);
  int rows = static_cast<int>(kBlockBytes / per_tile);
  rows = std::clamp(rows / kWinogradRows * kWinogradRows, kMinRows, kMaxRows);
  // No more than a thread's share, so that every thread has work.
  const long tiles = long{Tiles(s.out_h, s.dilation)} * Tiles(s.out_w, s.dilation);
  const long share = (tiles + threads - 1) / threads;
  const long share_rows = (share + kWinogradRows - 1) / kWinogradRows * kWinogradRows;
  return static_cast<int>(std::min<long>(rows, std::max<long>(share_rows, kWinogradRows)));
}

size_t ThreadFloats(const WinogradConvShape& s, int rows) {
  return size_t{kPoints} * rows * (s.in_c + s.out_c);
}

// (y0, x0) of every tile: phase by phase, row by row.
std::vector<int> TileOrigins(const WinogradConvShape& s) {
  std::vector<int> tiles;
  const int d = s.dilation;
  for (int py = 0; py < d && py < s.out_h; ++py) {
    for (int px = 0; px < d && px < s.out_w; ++px) {
      for (int y = py; y < s.out_h; y += 4 * d) {
        for (int x = px; x < s.out_w; x += 4 * d) {
          tiles.push_back(y);
          tiles.push_back(x);
        }
      }
    }
  }
  return tiles;
}

}  // namespace

bool WinogradConvFits(const WinogradConvShape& s) {
  if (Pick(s.block) == nullptr) return false;
  // Any padding works: taps outside the input read zeros.
  return s.in_c > 0 && s.in_c % s.block == 0 && s.out_c > 0 && s.out_c % s.block == 0 &&
         s.in_h > 0 && s.in_w > 0 && s.out_h > 0 && s.out_w > 0 && s.dilation >= 1 &&
         s.pad_top >= 0 && s.pad_left >= 0;
}

std::string WinogradConvImpl(int block) {
  return block == 16 ? "wino4x3:avx512" : block == 8 ? "wino4x3:avx2" : "wino4x3:none";
}

size_t WinogradConvWeightFloats(const WinogradConvShape& s) {
  return size_t{kPoints} * s.out_c * s.in_c;
}

void WinogradConvWeights(const WinogradConvShape& s, const float* oihw, float* out) {
  static constexpr float kG[6][3] = {{1.f / 4, 0, 0},
                                     {-1.f / 6, -1.f / 6, -1.f / 6},
                                     {-1.f / 6, 1.f / 6, -1.f / 6},
                                     {1.f / 24, 1.f / 12, 1.f / 6},
                                     {1.f / 24, -1.f / 12, 1.f / 6},
                                     {0, 0, 1}};
  const int width = Width(s);
  const size_t point = static_cast<size_t>(s.out_c) * s.in_c;
  // Group by group, input channel by input channel, the group's output channels side by side
  // (the loops over k vectorise), so that each point's writes are runs of `width` floats.
  const int groups = s.out_c / width;
  auto one = [&](int job) {
    const int g0 = job / s.in_c * width, i = job % s.in_c;
    float g[9][64], gg[6][3][64];  // g, then G g, per output channel of the group
    for (int k = 0; k < width; ++k) {
      const float* src = oihw + (static_cast<size_t>(g0 + k) * s.in_c + i) * 9;
      for (int j = 0; j < 9; ++j) g[j][k] = src[j];
    }
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 3; ++c) {
        for (int k = 0; k < width; ++k) {
          gg[r][c][k] = kG[r][0] * g[c][k] + kG[r][1] * g[3 + c][k] + kG[r][2] * g[6 + c][k];
        }
      }
    }
    float* dst = out + static_cast<size_t>(g0) * s.in_c + static_cast<size_t>(i) * width;
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 6; ++c) {
        float* d = dst + (r * 6 + c) * point;
        for (int k = 0; k < width; ++k) {
          d[k] = gg[r][0][k] * kG[c][0] + gg[r][1][k] * kG[c][1] + gg[r][2][k] * kG[c][2];
        }
      }
    }
  };
  const int jobs = groups * s.in_c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
  for (int job = 0; job < jobs; ++job) one(job);
#else
  for (int job = 0; job < jobs; ++job) one(job);
#endif
}

size_t WinogradConvScratchBytes(const WinogradConvShape& s, int threads) {
  threads = std::max(threads, 1);
  return ThreadFloats(s, BlockRows(s, threads)) * sizeof(float) * threads;
}

void WinogradConv(const WinogradConvShape& s, const float* in, const float* weights,
                  const float* bias, Activation act, const float* residual, float* out,
                  void* scratch, int threads) {
  const BlockFn run = Pick(s.block);
  threads = std::max(threads, 1);
  const int rows = BlockRows(s, threads);
  const std::vector<int> tiles = TileOrigins(s);
  const int count = static_cast<int>(tiles.size() / 2);
  const int blocks = (count + rows - 1) / rows;
  const size_t per_thread = ThreadFloats(s, rows);
  auto part = [&](int thread, int first, int last) {
    float* v = static_cast<float*>(scratch) + per_thread * thread;
    float* m = v + size_t{kPoints} * rows * s.in_c;
    for (int k = first; k < last; ++k) {
      const int t0 = k * rows;
      WinogradBlock b{&s,
                      in,
                      weights,
                      Width(s),
                      bias,
                      act,
                      residual,
                      out,
                      tiles.data() + 2 * t0,
                      std::min(rows, count - t0),
                      rows,
                      v,
                      m};
      run(b);
    }
  };
  const int n = std::min(threads, blocks);
#ifdef _OPENMP
  // oneDNN's own OpenMP threads (they spin for a while after each of its steps).
#pragma omp parallel num_threads(n)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    part(t, blocks * t / nt, blocks * (t + 1) / nt);
  }
#else
  std::vector<std::thread> helpers;
  for (int t = 1; t < n; ++t) {
    try {
      helpers.emplace_back(part, t, blocks * t / n, blocks * (t + 1) / n);
    } catch (const std::system_error&) {
      part(t, blocks * t / n, blocks * (t + 1) / n);
    }
  }
  part(0, 0, blocks / n);
  for (auto& h : helpers) h.join();
#endif
}

}  // namespace sparkify::nn::internal
