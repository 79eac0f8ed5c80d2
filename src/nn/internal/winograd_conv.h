// Internal to sparkify_nn: our own Winograd convolution, F(8x8, 3x3), F(6x6, 3x3), F(4x4, 3x3) or
// F(2x2, 3x3), over blocked fp32 maps.
//
// oneDNN 2.6's Winograd (jit_wino_4x3) transforms the whole map into a scratchpad (197 MB for
// IS-Net's /stage1d/rebnconvin, 128 -> 64 channels at 512x512, at a 1024 input), multiplies,
// and transforms back: that memory is most of the arena's peak, it has no AVX2 version, and
// it refuses dilated layers. Here a thread takes a block of tiles small enough to stay in its
// L2 cache and does all three steps on it: the input tiles' transform (V = Bt d B), one
// product per point of the transform (M = V U, U = G g Gt converted at load), and the inverse
// transform (Y = At M A) with the bias, ReLU and residual fused in. Dilated layers are the
// same computation on tiles whose pixels are `dilation` apart. A compact layer (any tile)
// keeps its weights as the file's fp16 3x3 kernels (read in place where the file stores them
// blocked by 8 output channels, sparkify-graph/2) and converts U chunk by chunk of input
// channels inside each block (IS-Net at 1024: 18 MB of weights to fault in at load instead of
// 362). A decoder's Resize by 2 and Concat before the layer are read as the input
// transform goes (WinogradConvShape::up_c): the upsampled map is never written (IS-Net at
// 1024: the activations and working memory 231 -> 181 MB).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/internal/winograd_shape.h"
#include "nn/plan.h"

namespace sparkify::nn::internal {

// Whether this CPU has the kernel for `s.block` (16: AVX-512; 8: AVX2 with FMA) and the shape
// is one it takes: whole blocks, positive sizes, tile 2, 4, 6 or 8, non-negative padding; a pool
// only without dilation, of half the output's sides (rounded up or down); compact only with
// F16C; upsampled channels (up_c) only as winograd_shape.h says. The caller checks the rest of
// the layer: a 3x3 kernel, stride 1, one group.
bool WinogradConvFits(const WinogradConvShape& s);

// The code path, e.g. "wino4x3:avx512", "wino2x3:avx2", "wino4x3c:avx512" (compact weights).
std::string WinogradConvImpl(const WinogradConvShape& s);

// What the weights' layout depends on, as a key for the weight cache: the tile, the block and
// compact or not; compact weights (the fp16 3x3 kernels blocked by 8 output channels) are
// the same for every tile and instruction set: "fp16:Oihw8o".
std::string WinogradConvWeightsLayout(const WinogradConvShape& s);

// The tiles the layer is cut into (every phase of a dilated layer; the last row and column of
// tiles may reach past the map).
int WinogradConvTiles(const WinogradConvShape& s);

// Floats of the converted weights: (tile + 2)^2 x out_c x in_c.
size_t WinogradConvWeightFloats(const WinogradConvShape& s);

// Converts plain OIHW 3x3 weights into the kernel's layout (U = G g Gt per output and input
// channel, grouped by the point of the transform and by the kernel's output-channel width).
// Uses the caller's OpenMP threads where built with OpenMP.
void WinogradConvWeights(const WinogradConvShape& s, const float* oihw, float* out);

// Compact weights (s.compact): out_c x in_c x 9 fp16 values, the plain OIHW 3x3 weights
// (fp16, little-endian, at any alignment) blocked by 8 output channels as
// [out_c / 8][in_c][9][8] (oneDNN's Oihw8o: a vector's channels side by side, as the block
// converts them). A sparkify-graph/2 file stores 3x3 weights so: the kernel reads them there.
size_t WinogradConvCompactHalves(const WinogradConvShape& s);
void WinogradConvCompactWeights(const WinogradConvShape& s, const void* oihw, uint16_t* out);

// Tests only: where the CPU has no AVX-512, layers of block 16 run on a portable emulation of
// the AVX-512 block (WinogradBlockPortable16: plain C++, the same layout and rounding, much
// slower) instead of not fitting, so that the 16-channel code paths are checked on any
// machine. Process-wide; off by default; a CPU with AVX-512 keeps its own kernel.
void EmulateAvx512BlocksForTests(bool on);

// What a layer needs besides its data, worked out once per input size.
struct WinogradConvPlan {
  WinogradConvShape shape;
  int threads = 1;  // threads that take part: no more than the units of work
  int blocks = 0;   // of tiles, as many for each thread (with parts > 1: one)
  // Each block is done in `parts` parts of the output channels (as even as whole weight groups
  // allow), each a unit of work. Where a layer's weights outweigh its whole V (deep layers on
  // small maps: IS-Net's 32x32 and 16x16 maps, 512 channels, at 1024) and each thread would
  // take one block, the threads share the tiles and split the channels instead: each then
  // reads (or, compact, converts) its part of the weights, not all of them, for the cost of
  // transforming all the tiles' input; and the products' rows are padded once, not per thread.
  int parts = 1;
  int rows = 0;            // the most tiles a block holds, rounded up to the product's rows
  int width = 0;           // output channels per weight group
  std::vector<int> tiles;  // (y0, x0) of every tile, phase by phase, row by row
  size_t scratch_bytes = 0;
};

// How a layer's tiles are cut into blocks (winograd_conv.cpp says why these defaults). A
// thread's V and M for a block are meant to stay in its L2 cache: a block holds about
// block_bytes of them, within [min_rows, max_rows] tiles (rounded up to whole rows of the
// products, kWinogradRows).
struct WinogradBlocking {
  size_t block_bytes = 768 << 10;
  int min_rows = 24, max_rows = 96;
  bool split_channels = true;  // WinogradConvPlan::parts where it pays; false: never
};

// Requires WinogradConvFits(s).
WinogradConvPlan PlanWinogradConv(const WinogradConvShape& s, int threads,
                                  const WinogradBlocking& blocking = {});

// Hands out blocks 0 .. blocks - 1 to `threads` threads, each block once. Thread t owns the
// t-th contiguous share (as even as can be) and takes it front to back; with its own share
// empty it takes from the back of the others'. Next is safe to call from all threads at once;
// a thread that never calls leaves its share to the others.
class BlockShares {
 public:
  BlockShares(int blocks, int threads);
  // A block not handed out before, or -1 when all are. 0 <= thread < threads.
  int Next(int thread);

 private:
  struct alignas(64) Share {      // one cache line each: the owners do not contend
    std::atomic<uint64_t> range;  // first block left << 32 | one past the last
  };
  int threads_;
  std::unique_ptr<Share[]> shares_;
};

// out = act(conv(in) + bias) (+ residual, after the activation: oneDNN's sum post-op).
// `weights` from WinogradConvWeights (floats), or WinogradConvCompactWeights (fp16) where
// plan.shape.compact; `bias` out_c values or null; `act` none or ReLU;
// `residual` null, or the same layout as `out`: it may be `out` itself (accumulated in place)
// or `in`, but `out` never overlaps `in`. `scratch`: plan.scratch_bytes, 64-byte aligned.
// `pooled`: where plan.shape.pool_h > 0, the max pool of `out` (2x2, stride 2), overlapping
// none of the others; else null. `up`: where plan.shape.up_c > 0, the half-size map of the
// first up_c input channels (`in` then holds the other in_c - up_c), overlapping neither
// `out` nor `pooled`; else null. Batch 1. Uses plan.threads threads (OpenMP's, or threads of
// its own).
void WinogradConv(const WinogradConvPlan& plan, const float* in, const void* weights,
                  const float* bias, Activation act, const float* residual, float* out,
                  void* scratch, float* pooled = nullptr, const float* up = nullptr);

}  // namespace sparkify::nn::internal
