// WinogradConv: see internal/winograd_conv.h. Here: which instruction set, the weights'
// conversion, the tiles and how they are shared between threads.
#include "nn/internal/winograd_conv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <system_error>
#include <thread>

#include "nn/internal/cpu_features.h"
#include "nn/internal/winograd_block.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sparkify::nn::internal {
namespace {

// WinogradBlocking's defaults: a thread's V and M for one block of tiles are meant to stay in
// its L2 cache (1 MiB per core on Zen 4 and 5, 1-2 MiB on recent Intel): a block holds about
// 768 KiB, within [24, 96] tiles (so layers with many channels go past it: the weights,
// streamed once per block, would otherwise dominate). On a Zen 3 (512 KiB of L2), 384 KiB and
// 6 tiles at least made the big layers alone 3-5% faster (sparkify_bench_winograd), and the
// whole forward no faster (BENCHMARKS.md, 2026-12-07 morning). On a Zen 4 (1 MiB of L2) the
// whole forward with blocks of 1 MiB was 1% faster, of 384 KiB 4% slower ("the issue's own
// CPU class").
constexpr size_t kShareBytes = 16 << 20;
// The most bytes of V all the threads may hold when they split a layer's channels
// (WinogradConvPlan::parts): IS-Net's largest such layer at 1024 (1024 -> 512 channels at
// 32x32, F(4x4)) holds 9.7 MB a thread.
constexpr size_t kSplitBytes = 32 << 20;

using BlockFn = void (*)(const WinogradBlock&);

std::atomic<bool> g_emulate_avx512{false};  // EmulateAvx512BlocksForTests

BlockFn Pick(int block) {
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // The AVX-512 unit is built with AVX2 and FMA too.
  if (block == 16 && avx2 && __builtin_cpu_supports("avx512f")) return WinogradBlockAvx512;
  if (block == 16 && g_emulate_avx512.load(std::memory_order_relaxed)) {
    return WinogradBlockPortable16;
  }
  if (block == 8 && avx2) return WinogradBlockAvx2;
  return nullptr;
}

int Points(const WinogradConvShape& s) { return (s.tile + 2) * (s.tile + 2); }

// Output channels per weight group: as many vectors as the product keeps in registers
// beside its accumulators (AVX-512: 4 vectors of 16 channels; AVX2, half the registers: 2 of
// 8), or fewer when that many do not divide the channels.
int Width(const WinogradConvShape& s) {
  const int vectors = s.out_c / s.block;
  const int most = s.block == 16 ? 4 : 2;
  for (int nv = most; nv > 1; nv /= 2) {
    if (vectors % nv == 0) return nv * s.block;
  }
  return s.block;
}

// (y0, x0) of every tile: phase by phase (a dilated layer's pixels `dilation` apart), row by
// row.
std::vector<int> TileOrigins(const WinogradConvShape& s) {
  std::vector<int> tiles;
  const int d = s.dilation, step = s.tile * d;
  for (int py = 0; py < d && py < s.out_h; ++py) {
    for (int px = 0; px < d && px < s.out_w; ++px) {
      for (int y = py; y < s.out_h; y += step) {
        for (int x = px; x < s.out_w; x += step) {
          tiles.push_back(y);
          tiles.push_back(x);
        }
      }
    }
  }
  return tiles;
}

int RoundRows(int tiles) {  // up to whole groups of the product's rows
  return std::max((tiles + kWinogradRows - 1) / kWinogradRows * kWinogradRows, kWinogradRows);
}

// Blocks the layer's tiles are cut into.
int BlockCount(const WinogradConvShape& s, int threads, int tiles, const WinogradBlocking& k) {
  const size_t per_tile = static_cast<size_t>(Points(s)) * (s.in_c + s.out_c) * sizeof(float);
  const size_t weights = static_cast<size_t>(Points(s)) * s.in_c * s.out_c * sizeof(float);
  const int least = RoundRows(k.min_rows), most = std::max(RoundRows(k.max_rows), least);
  int rows = static_cast<int>(std::min<size_t>(k.block_bytes / per_tile, 1 << 20));
  rows = std::clamp(rows / kWinogradRows * kWinogradRows, least, most);
  // Every block streams all the weights once. Where they outweigh a block's V and M (deep
  // layers on small maps: 8 MB for 512 -> 256 channels in F(2x2)), a thread does its whole
  // share in one block if that stays within kShareBytes (then in L3; all the threads'
  // blocks together hold at most the whole layer's V and M): 512 -> 256 channels at 32x32
  // went from 3.4 to 3.1 ms, 1024 -> 512 from 14.8 to 12.2 ms.
  const int share = (tiles + threads - 1) / threads;
  if (weights > rows * per_tile && static_cast<size_t>(share) * per_tile <= kShareBytes) {
    rows = share;
  }
  // As many blocks for each thread: at 256 tiles on 2 threads, blocks of 96 (2 for one
  // thread, 1 for the other) took 4.6 ms against 3.4 for blocks of 24.
  const int blocks = (tiles + rows - 1) / rows;
  return (blocks + threads - 1) / threads * threads;
}

// Floats from one point of V or M to the next: the rows, rounded up to an odd number of cache
// lines. A tile's 36 stores (and the loads of the products) then fall on 36 different
// offsets within a 4 KiB page; on the same offset, the CPU takes them for possible
// dependences ("4K aliasing"): with 24 tiles x 128 channels (12 KiB apart) the layer ran
// 12% slower, 128 -> 128 channels at 128x128 17%.
long PointStride(int rows, int channels) {
  const long lines = (long{rows} * channels + 15) / 16;
  return (lines % 2 == 0 ? lines + 1 : lines) * 16;
}

// Input channels a compact layer converts at once. Each chunk but the first reads and writes
// the block's M once more (36 points x 132 rows x 64 channels: 1.2 MB for F(4x4)), so fewer,
// larger chunks: 512 channels, fewer where the row of points the products use next
// (ConvertRow) would pass 768 KiB (it should stay within L2): 512 KiB for F(2x2), 768 KiB for
// F(4x4), at 64 channels a group (AVX-512); F(6x6) there takes 384 channels. IS-Net at 1024,
// the compact layers' medians of 5 alternating runs (F(2x2) / F(4x4), ms), two sets of runs:
// 128, 256 and 512 channels 75.7 / 41.8, 74.8 / 43.7 and 68.8 / 39.4; 256, 512 and 1024
// channels 77.1 / 40.5, 73.9 / 39.0 and 74.0 / 40.4.
int ChunkChannels(const WinogradConvShape& s) {
  constexpr int kMost = 512;
  constexpr size_t kRowBytes = 768 << 10;
  const size_t per_channel = static_cast<size_t>(s.tile + 2) * Width(s) * sizeof(float);
  const int fit = static_cast<int>(kRowBytes / per_channel) / s.block * s.block;
  return std::clamp(fit, s.block, kMost);
}

// Floats from one point of a compact layer's converted chunk of weights to the next: its
// channels, and a cache line more, so that the points' stores fall on different offsets in
// a 4 KiB page (PointStride).
long ChunkPoint(const WinogradConvShape& s) { return long{ChunkChannels(s)} * Width(s) + 16; }

// Output channels of the widest part when a block's weight groups are cut into `parts`.
int PartChannels(const WinogradConvShape& s, int parts) {
  const int groups = s.out_c / Width(s);
  return (groups + parts - 1) / parts * Width(s);
}

// A thread's V and M (M for the widest part's channels), then (compact) one row (tile + 2
// points) of a converted chunk of weights.
size_t ThreadFloats(const WinogradConvShape& s, int rows, int parts) {
  const size_t chunk = s.compact ? static_cast<size_t>((s.tile + 2) * ChunkPoint(s)) : 0;
  return static_cast<size_t>(Points(s)) *
             static_cast<size_t>(PointStride(rows, s.in_c) +
                                 PointStride(rows, PartChannels(s, parts))) +
         chunk;
}

}  // namespace

void EmulateAvx512BlocksForTests(bool on) { g_emulate_avx512.store(on); }

bool WinogradConvFits(const WinogradConvShape& s) {
  if (Pick(s.block) == nullptr) return false;
  // Any padding works: taps outside the input read zeros.
  auto halved = [](int pooled, int side) { return pooled == side / 2 || pooled == (side + 1) / 2; };
  const bool pool =
      (s.pool_h == 0 && s.pool_w == 0) || (s.dilation == 1 && s.pool_h > 0 && s.pool_w > 0 &&
                                           halved(s.pool_h, s.out_h) && halved(s.pool_w, s.out_w));
  const bool compact = !s.compact || CpuHasF16cAndAvx();  // any tile
  const bool up = s.up_c == 0 || (s.up_c > 0 && s.up_c < s.in_c && s.up_c % s.block == 0 &&
                                  s.in_h % 2 == 0 && s.in_w % 2 == 0 && s.dilation == 1);
  return (s.tile == 2 || s.tile == 4 || s.tile == 6 || s.tile == 8) && compact && up &&
         s.in_c > 0 && s.in_c % s.block == 0 && s.out_c > 0 && s.out_c % s.block == 0 &&
         s.in_h > 0 && s.in_w > 0 && s.out_h > 0 && s.out_w > 0 && s.dilation >= 1 &&
         s.pad_top >= 0 && s.pad_left >= 0 && pool;
}

std::string WinogradConvImpl(const WinogradConvShape& s) {
  std::string name = "wino" + std::to_string(s.tile) + "x3" + (s.compact ? "c:" : ":");
  return name + (s.block == 16 ? "avx512" : "avx2");
}

std::string WinogradConvWeightsLayout(const WinogradConvShape& s) {
  if (!s.compact) return WinogradConvImpl(s);
  return "fp16:Oihw8o";
}

int WinogradConvTiles(const WinogradConvShape& s) {
  return static_cast<int>(TileOrigins(s).size() / 2);
}

size_t WinogradConvWeightFloats(const WinogradConvShape& s) {
  return static_cast<size_t>(Points(s)) * s.out_c * s.in_c;
}

void WinogradConvWeights(const WinogradConvShape& s, const float* oihw, float* out) {
  const float(*G)[3] = s.tile == 2   ? kWinogradG2
                       : s.tile == 6 ? kWinogradG6
                       : s.tile == 8 ? kWinogradG8
                                     : kWinogradG4;
  const int n = s.tile + 2;
  const int width = Width(s);
  constexpr int kMaxWidth = 64;  // 4 vectors of 16
  const size_t point = static_cast<size_t>(s.out_c) * s.in_c;
  // Group by group, input channel by input channel, the group's output channels side by side
  // (the loops over k vectorise), so that each point's writes are runs of `width` floats.
  auto one = [&](int job) {
    const int g0 = job / s.in_c * width, i = job % s.in_c;
    float g[9][kMaxWidth], gg[10][3][kMaxWidth];  // g, then G g, per output channel
    for (int k = 0; k < width; ++k) {
      const float* src = oihw + (static_cast<size_t>(g0 + k) * s.in_c + i) * 9;
      for (int j = 0; j < 9; ++j) g[j][k] = src[j];
    }
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < 3; ++c) {
        for (int k = 0; k < width; ++k) {
          gg[r][c][k] = G[r][0] * g[c][k] + G[r][1] * g[3 + c][k] + G[r][2] * g[6 + c][k];
        }
      }
    }
    float* dst = out + static_cast<size_t>(g0) * s.in_c + static_cast<size_t>(i) * width;
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) {
        float* d = dst + (r * n + c) * point;
        for (int k = 0; k < width; ++k) {
          d[k] = gg[r][0][k] * G[c][0] + gg[r][1][k] * G[c][1] + gg[r][2][k] * G[c][2];
        }
      }
    }
  };
  const int jobs = s.out_c / width * s.in_c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
  for (int job = 0; job < jobs; ++job) one(job);
#else
  for (int job = 0; job < jobs; ++job) one(job);
#endif
}

size_t WinogradConvCompactHalves(const WinogradConvShape& s) {
  return static_cast<size_t>(s.out_c) * s.in_c * 9;
}

void WinogradConvCompactWeights(const WinogradConvShape& s, const void* oihw, uint16_t* out) {
  const auto* file = static_cast<const unsigned char*>(oihw);
  const size_t in_c = static_cast<size_t>(s.in_c);
  // One job per block of 8 output channels and input channel: it writes 9 x 8 halves in a
  // row (most of the time is faulting in fresh memory, shared by the threads as
  // WinogradConvWeights').
  auto one = [&](size_t job) {
    const size_t q = job / in_c, i = job % in_c;
    uint16_t* dst = out + job * 9 * 8;
    for (size_t k = 0; k < 8; ++k) {
      const unsigned char* src = file + ((q * 8 + k) * in_c + i) * 9 * sizeof(uint16_t);
      for (size_t t = 0; t < 9; ++t) std::memcpy(&dst[t * 8 + k], src + 2 * t, 2);
    }
  };
  const long jobs = static_cast<long>(s.out_c / 8) * s.in_c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
  for (long job = 0; job < jobs; ++job) one(static_cast<size_t>(job));
#else
  for (long job = 0; job < jobs; ++job) one(static_cast<size_t>(job));
#endif
}

BlockShares::BlockShares(int blocks, int threads)
    : threads_(std::max(threads, 1)), shares_(std::make_unique<Share[]>(threads_)) {
  for (int t = 0; t < threads_; ++t) {
    const uint64_t first = static_cast<uint64_t>(long{blocks} * t / threads_);
    const uint64_t end = static_cast<uint64_t>(long{blocks} * (t + 1) / threads_);
    shares_[t].range.store(first << 32 | end, std::memory_order_relaxed);
  }
}

int BlockShares::Next(int thread) {
  // The blocks' work is independent; the caller's join orders their results. The exchanges
  // only have to be atomic.
  std::atomic<uint64_t>& own = shares_[thread].range;
  uint64_t r = own.load(std::memory_order_relaxed);
  while ((r >> 32) < (r & 0xffffffffu)) {  // front of its own share
    if (own.compare_exchange_weak(r, r + (uint64_t{1} << 32), std::memory_order_relaxed)) {
      return static_cast<int>(r >> 32);
    }
  }
  for (int k = 1; k < threads_; ++k) {  // back of another's
    std::atomic<uint64_t>& other = shares_[(thread + k) % threads_].range;
    r = other.load(std::memory_order_relaxed);
    while ((r >> 32) < (r & 0xffffffffu)) {
      if (other.compare_exchange_weak(r, r - 1, std::memory_order_relaxed)) {
        return static_cast<int>((r & 0xffffffffu) - 1);
      }
    }
  }
  return -1;
}

WinogradConvPlan PlanWinogradConv(const WinogradConvShape& s, int threads,
                                  const WinogradBlocking& blocking) {
  WinogradConvPlan p;
  p.shape = s;
  p.threads = std::max(threads, 1);
  p.width = Width(s);
  p.tiles = TileOrigins(s);
  const int tiles = static_cast<int>(p.tiles.size() / 2);
  // Blocks of even sizes (block k: tiles [k * tiles / blocks, (k + 1) * tiles / blocks)),
  // at most `rows` each; no more threads than blocks.
  p.blocks = std::min(BlockCount(s, p.threads, tiles, blocking), tiles);
  // One block a thread, and weights that outweigh all the tiles' V (out_c floats per point
  // and input channel against one per tile): the threads split the channels instead
  // (WinogradConvPlan::parts). IS-Net's 32x32 maps at 1024 (64 F(4x4) tiles, 512 -> 512
  // channels), sparkify_bench_winograd on a Zen 4: one thread took 1.74-1.79x the time of two.
  // Each thread then holds the whole layer's V: only where all the threads' copies stay
  // within kSplitBytes (on many threads, the tiles are shared as before).
  const int groups = s.out_c / p.width;
  const size_t whole_v = static_cast<size_t>(Points(s)) *
                         static_cast<size_t>(PointStride(RoundRows(tiles), s.in_c)) * sizeof(float);
  if (blocking.split_channels && p.threads > 1 && p.blocks == p.threads && groups >= p.threads &&
      s.out_c > tiles && whole_v * static_cast<size_t>(p.threads) <= kSplitBytes) {
    p.blocks = 1;
    p.parts = p.threads;
  }
  p.rows = RoundRows((tiles + p.blocks - 1) / p.blocks);
  p.threads = std::min(p.threads, p.blocks * p.parts);
  p.scratch_bytes =
      ThreadFloats(s, p.rows, p.parts) * sizeof(float) * static_cast<size_t>(p.threads);
  return p;
}

void WinogradConv(const WinogradConvPlan& plan, const float* in, const void* weights,
                  const float* bias, Activation act, const float* residual, float* out,
                  void* scratch, float* pooled, const float* up) {
  const BlockFn run = Pick(plan.shape.block);
  const WinogradConvShape& s = plan.shape;
  const int rows = plan.rows;
  const int count = static_cast<int>(plan.tiles.size() / 2);
  const int blocks = plan.blocks, parts = plan.parts;
  const int groups = s.out_c / plan.width;
  const size_t per_thread = ThreadFloats(s, rows, parts);
  // Each thread starts on a contiguous share of the blocks (the part of the map it wrote in
  // the layer before, often still in its caches), front to back; once done it takes blocks
  // from the back of the others' shares. The last blocks then go to whichever thread is free,
  // instead of one thread waiting for the other at the end of the layer.
  // (A unit of work: one part of one block.)
  BlockShares shares(blocks * parts, plan.threads);
  auto part = [&](int thread) {
    float* v = static_cast<float*>(scratch) + per_thread * thread;
    const long v_point = PointStride(rows, s.in_c);
    const long m_point = PointStride(rows, PartChannels(s, parts));
    float* m = v + static_cast<size_t>(Points(s)) * static_cast<size_t>(v_point);
    float* chunk = m + static_cast<size_t>(Points(s)) * static_cast<size_t>(m_point);
    const float* u = s.compact ? nullptr : static_cast<const float*>(weights);
    const auto* halves = s.compact ? static_cast<const unsigned short*>(weights) : nullptr;
    for (int unit = shares.Next(thread); unit >= 0; unit = shares.Next(thread)) {
      const int k = unit / parts, piece = unit % parts;
      const int t0 = static_cast<int>(long{k} * count / blocks);
      const int t1 = static_cast<int>(long{k + 1} * count / blocks);
      const int g0 = piece * groups / parts, g1 = (piece + 1) * groups / parts;
      const WinogradBlock b{&s,
                            in,
                            u,
                            halves,
                            s.compact ? chunk : nullptr,
                            ChunkPoint(s),
                            plan.width,
                            bias,
                            act == Activation::kRelu,
                            residual,
                            out,
                            plan.tiles.data() + 2 * t0,
                            t1 - t0,
                            RoundRows(t1 - t0),
                            v,
                            m,
                            v_point,
                            m_point,
                            s.compact ? ChunkChannels(s) : s.in_c,
                            s.compact ? plan.width : (g1 - g0) * plan.width,
                            g0,
                            g1,
                            pooled,
                            up};
      run(b);
    }
  };
  const int n = plan.threads;
#ifdef _OPENMP
  // oneDNN's own OpenMP threads (they spin for a while after each of its steps).
#pragma omp parallel num_threads(n)
  part(omp_get_thread_num());
#else
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(n));
  for (int t = 1; t < n; ++t) {
    try {
      helpers.emplace_back(part, t);
    } catch (const std::system_error&) {
      break;  // no thread to be had: those that run take the missing threads' shares
    }
  }
  part(0);
  for (auto& h : helpers) h.join();
#endif
}

}  // namespace sparkify::nn::internal
