// Internal to winograd_conv: one block of tiles through the three steps, per instruction
// set. Each instruction set's code is its own translation unit, built for that set only
// (winograd_block_avx512.cpp, winograd_block_avx2.cpp); winograd_conv.cpp picks one by what
// the CPU has.
#pragma once

#include "nn/internal/winograd_conv.h"

namespace sparkify::nn::internal {

// Rows of tiles the product computes at once (the rows of V and M are padded to a multiple).
constexpr int kWinogradRows = 6;

struct WinogradBlock {
  const WinogradConvShape* s;
  const float* in;
  const float* u;  // converted weights: [36][out_c / width][in_c][width]
  int width;       // output channels per weight group: a multiple of the block
  const float* bias;
  Activation act;
  const float* residual;
  float* out;
  const int* tiles;  // (y0, x0) of each tile's first output pixel
  int count;         // tiles in this block
  int rows;          // rows of v and m: count rounded up to kWinogradRows
  float* v;          // [36][rows][in_c]
  float* m;          // [36][rows][out_c]
};

void WinogradBlockAvx512(const WinogradBlock& b);
void WinogradBlockAvx2(const WinogradBlock& b);

}  // namespace sparkify::nn::internal
