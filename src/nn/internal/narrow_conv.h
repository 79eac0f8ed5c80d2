// Internal to sparkify_nn: a convolution with fewer output channels than a channel block.
//
// oneDNN computes such a layer (the 1-channel heads of U^2-Net models) as a whole padded
// block of 16 (or 8) output channels, so it does 16x the arithmetic: IS-Net's 64 -> 1 head
// at 512x512 took 16 ms for 0.3 GFLOP. Here every output pixel is one dot product over the
// blocked input, vectorised over the block's channels.
#pragma once

#include <string>

#include "nn/plan.h"

namespace sparkify::nn::internal {

struct NarrowConvShape {
  int block = 16;                       // channels per block of the input (16 or 8)
  int in_c = 0, in_h = 0, in_w = 0;     // input: nChw{block}c fp32, in_c a multiple of block
  int out_c = 0, out_h = 0, out_w = 0;  // output: plain NCHW fp32
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;  // 1: dense
  int pad_top = 0, pad_left = 0;       // the bottom and right padding follow from the sizes
};

// Whether the kernel takes this shape (block 8 or 16, whole input blocks, positive sizes).
bool NarrowConvFits(const NarrowConvShape& s);

// The code path the kernel uses on this CPU for `block`, e.g. "narrow:avx512".
std::string NarrowConvImpl(int block);

// out = act(conv(in, weights) + bias). `weights`: [out_c][in_c / block][kernel_h][kernel_w]
// [block] (oneDNN's aBcd16b / aBcd8b); `bias`: out_c values or null. Batch 1. Uses up to
// `threads` threads (the caller's and threads - 1 more) when the layer is large enough.
// `plain`: the portable C++ path whatever the CPU has (what a CPU without AVX2 runs; tests).
void NarrowConv(const NarrowConvShape& s, const float* in, const float* weights, const float* bias,
                Activation act, float* out, int threads, bool plain = false);

}  // namespace sparkify::nn::internal
