// Internal to sparkify_nn: weights converted for oneDNN's fp32 Winograd F(4x4, 3x3)
// convolution (jit_wino_4x3), done by us.
//
// That convolution keeps each (output, input) channel pair's 3x3 kernel g as the 6x6 matrix
// U = G g G^T, in a blocked layout of its own (OBaaIBOIio). oneDNN 2.6 converts to it with a
// reference loop: 0.41-0.43 s of a 0.78 s IS-Net load at 1024 on 2 cores, for ~0.4 GFLOP of
// arithmetic. This is the same transform and layout (both are facts of oneDNN's format:
// G's entries and the index order), written as a loop the compiler vectorises over a block
// of output channels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

namespace sparkify::nn::internal {

// Writes the `oc` x `ic` x 3 x 3 weights `oihw` (plain fp32) into `out` in the layout `md`
// asks for, `md.get_size()` bytes, the channels past `oc` and `ic` that the layout pads to
// set to zero. Returns false, writing nothing, when `md` is not the fp32 F(4x4, 3x3) layout
// this knows (another oneDNN, another algorithm): the caller then lets oneDNN convert.
bool WinogradWeights(const dnnl::memory::desc& md, const float* oihw, int64_t oc, int64_t ic,
                     float* out);

}  // namespace sparkify::nn::internal
