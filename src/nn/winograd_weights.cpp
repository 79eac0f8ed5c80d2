#include "nn/internal/winograd_weights.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

namespace sparkify::nn::internal {
namespace {

constexpr int kR = 3;  // kernel size
// Output channels per block: oneDNN 2.6's fp32 Winograd kernels are AVX-512 only.
constexpr int kBlock = 16;

// oneDNN's interpolation matrices G (U = G g G^T) for its two fp32 Winograd kernels. F(4x4,
// 3x3)'s rows are scaled against the input and output transforms of its kernel, so they must
// be exactly these.
constexpr float kG4x3[6][kR] = {{1.13777777777778f, 0.f, 0.f},
                                {-0.688403361344538f, -0.430252100840336f, -0.26890756302521f},
                                {-0.688403361344538f, 0.430252100840336f, -0.26890756302521f},
                                {0.119514472455649f, 0.179271708683473f, 0.26890756302521f},
                                {0.119514472455649f, -0.179271708683473f, 0.26890756302521f},
                                {0.f, 0.f, 1.f}};
constexpr float kG2x3[4][kR] = {
    {1.f, 0.f, 0.f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0.f, 0.f, 1.f}};

// The transform of one block of `n` output channels at one input channel. `g`: n kernels,
// kernel k at g + k * stride (3x3, row-major); `u`: [alpha][alpha][kBlock], zero past n. The
// sums run in the order oneDNN's reorder uses (over the kernel's columns, then its rows, each
// from zero), so a compiler that contracts neither gives the same bits.
template <int kAlpha>
void TransformBlock(const float (&G)[kAlpha][kR], const float* g, size_t stride, int n, float* u) {
  float rows[kR][kAlpha][kBlock];  // g G^T: per kernel row, the alpha column combinations
  for (int kh = 0; kh < kR; ++kh) {
    for (int j = 0; j < kAlpha; ++j) {
      for (int o = 0; o < kBlock; ++o) {
        float s = 0.f;
        if (o < n) {
          const float* k = g + static_cast<size_t>(o) * stride + kh * kR;
          s += k[0] * G[j][0];
          s += k[1] * G[j][1];
          s += k[2] * G[j][2];
        }
        rows[kh][j][o] = s;
      }
    }
  }
  for (int i = 0; i < kAlpha; ++i) {
    for (int j = 0; j < kAlpha; ++j) {
      float* dst = u + (i * kAlpha + j) * kBlock;
      for (int o = 0; o < kBlock; ++o) {
        float s = 0.f;
        s += G[i][0] * rows[0][j][o];
        s += G[i][1] * rows[1][j][o];
        s += G[i][2] * rows[2][j][o];
        dst[o] = s;
      }
    }
  }
}

// One of oneDNN's layouts, with the blocking it uses: blocks of kBlock output channels
// grouped by oc2, blocks of ic_block input channels grouped by ic2.
struct Layout {
  dnnl_wino_memory_format_t format;
  int oc2 = 1, ic_block = 1, ic2 = 1;
  int oc_chunks = 0, ic_chunks = 0;  // groups of oc2 (ic2) blocks
};

// Where the block of kBlock output channels (chunk occ, block ob in it) for input channel
// (chunk icc, block ib in it, channel ii in that) lands at tile point (a, b), in blocks.
template <int kAlpha>
size_t BlockOffset(const Layout& l, int occ, int ob, int icc, int ib, int ii, int a, int b) {
  if (l.format == dnnl_wino_wei_OBaaIBOIio) {
    // [oc chunk][a][b][ic chunk][oc2][ic2][ic][oc block]
    return (((((static_cast<size_t>(occ) * kAlpha + a) * kAlpha + b) * l.ic_chunks + icc) * l.oc2 +
             ob) *
                l.ic2 +
            ib) *
               l.ic_block +
           ii;
  }
  // aaOBiOo: [a][b][oc chunk][ic block][ic][oc2][oc block] (aaOio: the same with oc2 = 1)
  return ((((static_cast<size_t>(a) * kAlpha + b) * l.oc_chunks + occ) * l.ic_chunks + icc) *
              l.ic_block +
          ii) *
             l.oc2 +
         ob;
}

template <int kAlpha>
void Transform(const float (&G)[kAlpha][kR], const Layout& l, const float* oihw, int64_t oc,
               int64_t ic, float* out) {
  const size_t stride = static_cast<size_t>(ic) * kR * kR;  // between output channels
  std::vector<float> u(static_cast<size_t>(kAlpha) * kAlpha * kBlock);
  for (int occ = 0; occ < l.oc_chunks; ++occ) {
    for (int ob = 0; ob < l.oc2; ++ob) {
      const int64_t o0 = (static_cast<int64_t>(occ) * l.oc2 + ob) * kBlock;
      const int n = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(kBlock, oc - o0)));
      for (int icc = 0; icc < l.ic_chunks; ++icc) {
        for (int ib = 0; ib < l.ic2; ++ib) {
          for (int ii = 0; ii < l.ic_block; ++ii) {
            const int64_t i = (static_cast<int64_t>(icc) * l.ic2 + ib) * l.ic_block + ii;
            const int live = i < ic ? n : 0;
            // Padding channels read nothing (their pointer is not even formed).
            const float* g = live > 0 ? oihw + (o0 * ic + i) * kR * kR : nullptr;
            TransformBlock<kAlpha>(G, g, stride, live, u.data());
            for (int a = 0; a < kAlpha; ++a) {
              for (int b = 0; b < kAlpha; ++b) {
                size_t at = BlockOffset<kAlpha>(l, occ, ob, icc, ib, ii, a, b) * kBlock;
                std::memcpy(out + at, u.data() + (a * kAlpha + b) * kBlock, kBlock * sizeof(float));
              }
            }
          }
        }
      }
    }
  }
}

// The layout's blocking, when it is one this knows with kBlock-channel output blocks.
std::optional<Layout> KnownLayout(const dnnl_wino_desc_t& w) {
  Layout l{w.wino_format, w.oc2_block, w.ic_block, w.ic2_block};
  if (w.wino_format == dnnl_wino_wei_aaOio) l.oc2 = 1;  // its oc2_block is not used
  if (w.wino_format != dnnl_wino_wei_OBaaIBOIio) l.ic2 = 1;
  const bool shape_ok =
      w.wino_format == dnnl_wino_wei_OBaaIBOIio
          ? w.alpha == 6
          : (w.wino_format == dnnl_wino_wei_aaOBiOo || w.wino_format == dnnl_wino_wei_aaOio) &&
                w.alpha == 4;
  if (!shape_ok || w.oc_block != kBlock || l.ic_block <= 0 || l.oc2 <= 0 || l.ic2 <= 0 ||
      w.oc % (l.oc2 * kBlock) != 0 || w.ic % (l.ic2 * l.ic_block) != 0) {
    return std::nullopt;
  }
  l.oc_chunks = w.oc / (l.oc2 * kBlock);
  l.ic_chunks = w.ic / (l.ic2 * l.ic_block);
  return l;
}

}  // namespace

bool WinogradWeightsFit(const dnnl::memory::desc& md, int64_t oc, int64_t ic) {
  if (dnnl_version()->major != 2) return false;  // the layouts here are oneDNN 2.x's
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_format_kind_wino || d.data_type != dnnl_f32 || d.ndims != 4 ||
      d.dims[0] != oc || d.dims[1] != ic || d.dims[2] != kR || d.dims[3] != kR) {
    return false;
  }
  const dnnl_wino_desc_t& w = d.format_desc.wino_desc;
  if (w.r != kR || w.oc < oc || w.ic < ic || !KnownLayout(w)) return false;
  const size_t floats = static_cast<size_t>(w.alpha) * w.alpha * w.oc * w.ic;
  return md.get_size() == floats * sizeof(float);
}

void WinogradWeights(const dnnl::memory::desc& md, const float* oihw, int64_t oc, int64_t ic,
                     float* out) {
  const dnnl_wino_desc_t& w = md.data.format_desc.wino_desc;
  const Layout l = *KnownLayout(w);
  if (w.alpha == 6) {
    Transform<6>(kG4x3, l, oihw, oc, ic, out);
  } else {
    Transform<4>(kG2x3, l, oihw, oc, ic, out);
  }
}

}  // namespace sparkify::nn::internal
