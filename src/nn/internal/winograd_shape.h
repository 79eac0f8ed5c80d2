// Internal to sparkify_nn: the shape of a convolution our Winograd kernel computes
// (winograd_conv.h). Kept free of includes: the per-instruction-set code includes it.
#pragma once

namespace sparkify::nn::internal {

// G of each tile (U = G g Gt), rows by the points of the transform in winograd_block_impl.h.
// The weights' conversion at load (winograd_conv.cpp) and a compact layer's per chunk use
// these same floats, so the two give the same bits.
constexpr float kWinogradG2[4][3] = {{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}};
constexpr float kWinogradG4[6][3] = {{1.f / 4, 0, 0},
                                     {-1.f / 6, -1.f / 6, -1.f / 6},
                                     {-1.f / 6, 1.f / 6, -1.f / 6},
                                     {1.f / 24, 1.f / 12, 1.f / 6},
                                     {1.f / 24, -1.f / 12, 1.f / 6},
                                     {0, 0, 1}};
constexpr float kWinogradG6[8][3] = {{1, 0, 0},
                                     {-2.f / 9, -2.f / 9, -2.f / 9},
                                     {-2.f / 9, 2.f / 9, -2.f / 9},
                                     {1.f / 90, 1.f / 45, 2.f / 45},
                                     {1.f / 90, -1.f / 45, 2.f / 45},
                                     {32.f / 45, 16.f / 45, 8.f / 45},
                                     {32.f / 45, -16.f / 45, 8.f / 45},
                                     {0, 0, 1}};
// F(8x8, 3x3): points 0, 1, -1, 2, -2, 1/2, -1/2, 3/4, -3/4 and infinity.
constexpr float kWinogradG8[10][3] = {{16.f / 9, 0, 0},
                                      {-32.f / 63, -32.f / 63, -32.f / 63},
                                      {-32.f / 63, 32.f / 63, -32.f / 63},
                                      {8.f / 2475, 16.f / 2475, 32.f / 2475},
                                      {8.f / 2475, -16.f / 2475, 32.f / 2475},
                                      {-512.f / 225, -256.f / 225, -128.f / 225},
                                      {-512.f / 225, 256.f / 225, -128.f / 225},
                                      {32768.f / 17325, 8192.f / 5775, 2048.f / 1925},
                                      {32768.f / 17325, -8192.f / 5775, 2048.f / 1925},
                                      {0, 0, 1}};

struct WinogradConvShape {
  int block = 16;                       // channels per block: 16 (AVX-512) or 8 (AVX2)
  int in_c = 0, in_h = 0, in_w = 0;     // input: nChw{block}c, in_c a multiple of block
  int out_c = 0, out_h = 0, out_w = 0;  // output: nChw{block}c, out_c a multiple of block
  int dilation = 1;                     // the same in both directions
  int pad_top = 0, pad_left = 0;        // the bottom and right padding follow from the sizes
  // Output tile side:
  //   8 = F(8x8, 3x3): 100 points, 5.8x fewer multiplications than direct, 11x the weights,
  //       and ~15x F(6x6)'s rounding (relative error ~4e-5 per layer against ~3e-6): only
  //       for the modes that trade exactness for speed under the quality gate
  //       (Precision::kFast);
  //   6 = F(6x6, 3x3): 64 points, 5.1x fewer multiplications than direct, 7.1x the weights
  //       (rounding: about as F(4x4) in winograd_conv_test);
  //   4 = F(4x4, 3x3): 36 points, 4x fewer, 4x the weights;
  //   2 = F(2x2, 3x3): 16 points, 2.25x fewer, 1.8x the weights.
  int tile = 4;
  // > 0: the layer also writes the 2x2, stride-2 max pool of its output (a MaxPool after it,
  // fused: IS-Net's encoders pool their stages' outputs), pool_h x pool_w pixels, nChw{block}c:
  // half the output's sides, rounded up (ceil mode: a last window of one row or column) or
  // down. Dilation 1 only (a tile's pixels then hold whole windows: tiles start on even rows
  // and columns).
  int pool_h = 0, pool_w = 0;
  // The weights stay 3x3 kernels in fp16 (as the file has them: 0.28x the bytes of F(2x2)'s
  // converted fp32 weights, 0.125x F(4x4)'s, 0.07x F(6x6)'s, 0.045x F(8x8)'s), and each block
  // converts them chunk by chunk of input channels as its products go (WinogradConvCompactWeights).
  // Needs F16C.
  bool compact = false;
  // > 0: a Resize by 2 and a Concat before the layer, fused (IS-Net's decoders): the first
  // up_c input channels are read from a map of half the input's sides, upsampled on the fly
  // (bilinear with half-pixel centres, as ONNX's linear Resize and PyTorch's interpolate
  // without align_corners), the other in_c - up_c from a map of the input's sides. A multiple
  // of block, below in_c; in_h and in_w even; dilation 1.
  int up_c = 0;
};

}  // namespace sparkify::nn::internal
