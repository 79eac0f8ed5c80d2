// Internal to sparkify_nn: our own Winograd convolution, F(4x4, 3x3), over blocked fp32 maps.
//
// oneDNN 2.6's Winograd (jit_wino_4x3) transforms the whole map into a scratchpad (197 MB for
// IS-Net's 128 -> 64 layer at 512x512), multiplies, and transforms back: it is bound by that
// memory traffic (~800 GFLOP/s equivalent on a CPU whose direct kernels reach ~350), has no
// AVX2 version, and refuses dilated layers. Here a thread takes a block of tiles small
// enough to stay in its L2 cache and does all three steps on it: the input tiles' transform
// (V = Bt d B), one product per of the 36 points (M = V U, U = G g Gt converted at load), and
// the inverse transform (Y = At M A) with the bias, activation and residual fused in.
// Dilated layers are the same computation on tiles whose pixels are `dilation` apart.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/plan.h"

namespace sparkify::nn::internal {

struct WinogradConvShape {
  int block = 16;                       // channels per block: 16 (AVX-512) or 8 (AVX2)
  int in_c = 0, in_h = 0, in_w = 0;     // input: nChw{block}c, in_c a multiple of block
  int out_c = 0, out_h = 0, out_w = 0;  // output: nChw{block}c, out_c a multiple of block
  int dilation = 1;                     // the same in both directions
  int pad_top = 0, pad_left = 0;        // the bottom and right padding follow from the sizes
};

// Whether this CPU has the kernel for `s.block` and the shape is one it takes: a 3x3 kernel,
// stride 1, whole blocks, output no larger than the padded input allows.
bool WinogradConvFits(const WinogradConvShape& s);

// The code path on this CPU for `block`, e.g. "wino4x3:avx512".
std::string WinogradConvImpl(int block);

// Floats of the converted weights: 36 x out_c x in_c.
size_t WinogradConvWeightFloats(const WinogradConvShape& s);

// Converts plain OIHW 3x3 weights into the kernel's layout (U = G g Gt per output and input
// channel, grouped by the point of the transform and by the kernel's output-channel width).
void WinogradConvWeights(const WinogradConvShape& s, const float* oihw, float* out);

// Bytes of working memory for `threads` threads (each has its own part).
size_t WinogradConvScratchBytes(const WinogradConvShape& s, int threads);

// out = act(conv(in) + bias) (+ residual, after the activation: oneDNN's sum post-op).
// `weights` from WinogradConvWeights; `bias` out_c values or null; `residual` null, or the
// same layout as `out` (it may be `out` itself: accumulated in place). `scratch`: at least
// WinogradConvScratchBytes(s, threads), 64-byte aligned. Batch 1.
void WinogradConv(const WinogradConvShape& s, const float* in, const float* weights,
                  const float* bias, Activation act, const float* residual, float* out,
                  void* scratch, int threads);

}  // namespace sparkify::nn::internal
