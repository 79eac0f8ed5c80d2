// Internal to winograd_conv: one block of tiles through the three steps, per instruction
// set. Each instruction set's code is its own translation unit, built for that set only
// (winograd_block_avx512.cpp, winograd_block_avx2.cpp); winograd_conv.cpp picks one by what
// the CPU has. This header and what those units include must stay free of code with
// external linkage (no standard library): any such function built there could be the copy
// the linker keeps for the whole program, and run on a CPU without that instruction set.
#pragma once

#include "nn/internal/winograd_shape.h"

namespace sparkify::nn::internal {

// Rows of tiles the product computes at once (the rows of V and M are padded to a multiple).
constexpr int kWinogradRows = 6;

struct WinogradBlock {
  const WinogradConvShape* s;
  const float* in;
  const float* u;  // converted weights: [points][out_c / width][in_c][width]; null if compact
  // Compact (s->compact): the 3x3 weights in fp16 blocked by 8 output channels (the model
  // file's Oihw8o, read in place where it has them): [out_c / 8][in_c][9][8]; and the
  // thread's buffer for one row of the transform's points (M + 2) of a chunk of them
  // converted (v_chunk input channels), [M + 2][v_chunk][width], chunk_point floats from one
  // point to the next.
  const unsigned short* halves;
  float* chunk;
  long chunk_point;
  int width;       // output channels per weight group: 1, 2 or 4 vectors (AVX2: 1 or 2)
  const float* bias;
  bool relu;
  const float* residual;
  float* out;
  const int* tiles;  // (y0, x0) of each tile's first output pixel
  int count;         // tiles in this block
  int rows;          // rows of v and m: count rounded up to kWinogradRows
  // V and M, v_point and m_point floats from one point to the next; at each point, chunk by
  // chunk of channels (v_chunk of V's, m_chunk of M's; the last may be narrower), the rows of
  // the chunk: [points][chunks][rows][chunk]. With one chunk: [points][rows][channels].
  float* v;
  float* m;
  long v_point, m_point;
  int v_chunk, m_chunk;
  // The weight groups [g0, g1) of `width` output channels the block computes (all of them, or
  // a part: WinogradConvPlan::parts); M holds only their channels.
  int g0, g1;
  float* pooled;  // s->pool_h x s->pool_w, or null (winograd_shape.h)
  // s->up_c > 0: the half-size map of the first s->up_c channels; `in` then holds the others.
  const float* up;
};

void WinogradBlockAvx512(const WinogradBlock& b);
void WinogradBlockAvx2(const WinogradBlock& b);
// AVX-512's layout and rounding in plain C++, for the tests (winograd_block_portable.cpp).
void WinogradBlockPortable16(const WinogradBlock& b);

}  // namespace sparkify::nn::internal
