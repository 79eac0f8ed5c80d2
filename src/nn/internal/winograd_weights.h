// Internal to sparkify_nn: weights converted for oneDNN's fp32 Winograd convolutions
// (jit_fp32_wino_2x3: F(2x2, 3x3); jit_wino_4x3: F(4x4, 3x3)), done by us.
//
// Those convolutions keep each (output, input) channel pair's 3x3 kernel g as the matrix
// U = G g G^T (4x4 or 6x6), in blocked layouts of their own (aaOio and aaOBiOo for F(2x2, 3x3),
// OBaaIBOIio for F(4x4, 3x3)). oneDNN 2.6 converts to them with a reference loop: 0.41-0.43 s
// of a 0.78 s IS-Net load at 1024 on 2 cores, for ~0.4 GFLOP of arithmetic. This is the same
// transform into the same layouts (both are facts of oneDNN 2.x's formats: G's entries and
// the index order), written as a loop the compiler vectorises over a block of output channels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

namespace sparkify::nn::internal {

// Whether `md` is one of the fp32 Winograd layouts above (16-channel blocks, as oneDNN 2.6's
// AVX-512 kernels use) for `oc` x `ic` x 3 x 3 weights, under a oneDNN 2.x (whose layouts
// these are). When not, let oneDNN convert.
bool WinogradWeightsFit(const dnnl::memory::desc& md, int64_t oc, int64_t ic);

// Writes the `oc` x `ic` x 3 x 3 weights `oihw` (plain fp32) into `out` in the layout `md`,
// `md.get_size()` bytes, the channels past `oc` and `ic` that the layout pads to set to zero.
// Requires WinogradWeightsFit(md, oc, ic).
void WinogradWeights(const dnnl::memory::desc& md, const float* oihw, int64_t oc, int64_t ic,
                     float* out);

}  // namespace sparkify::nn::internal
