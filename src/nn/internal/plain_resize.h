// Internal to sparkify_nn: bilinear upscaling of a map with fewer channels than a block.
//
// Such a map is plain NCHW (IS-Net's 1-channel head, 512x512 -> 1024x1024 at a 1024 input).
// oneDNN's resampling took ~1.6 ns per output pixel there (3.6 ms with the sigmoid, 1% of a
// forward); here each output row is a blend of two input rows, each of those interpolated
// across once.
#pragma once

namespace sparkify::nn::internal {

struct PlainResizeShape {
  int c = 0, in_h = 0, in_w = 0;  // plain NCHW fp32, batch 1
  int out_h = 0, out_w = 0;       // whole multiples of the input's sides
};

// Whether the shape is one PlainResize takes: positive sizes, integer scales.
bool PlainResizeFits(const PlainResizeShape& s);

// out = the graph's linear Resize of `in`: half-pixel centres, source coordinates clamped to
// the map (an edge pixel's value continues past the edge). Uses up to `threads` threads (the
// caller's OpenMP threads where built with OpenMP).
void PlainResize(const PlainResizeShape& s, const float* in, float* out, int threads);

}  // namespace sparkify::nn::internal
