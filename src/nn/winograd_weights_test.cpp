#include "nn/internal/winograd_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sparkify::nn::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// The weights layout oneDNN's Winograd convolution asks for at this shape, over nChw16c
// maps; none when it has no Winograd here (an AVX2-only CPU, ONEDNN_MAX_CPU_ISA=AVX2).
std::optional<memory::desc> WinogradLayout(const dnnl::engine& eng, memory::dim oc, memory::dim ic,
                                           memory::dim hw) {
  memory::desc src({1, ic, hw, hw}, dt::f32, tag::nChw16c);
  memory::desc dst({1, oc, hw, hw}, dt::f32, tag::nChw16c);
  memory::desc w({oc, ic, 3, 3}, dt::f32, tag::any);
  memory::desc b({oc}, dt::f32, tag::x);
  try {
    dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                  dnnl::algorithm::convolution_winograd,
                                                  src,
                                                  w,
                                                  b,
                                                  dst,
                                                  {1, 1},
                                                  {1, 1},
                                                  {1, 1}},
                                                 eng);
    return pd.weights_desc();
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

std::vector<float> RandomWeights(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 0.2f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Ours against oneDNN's own reorder, element by element, over every channel count IS-Net's
// Winograd layers have and a few others (blocks of 16 and, past them, padded ones).
TEST(WinogradWeightsTest, MatchesOneDnnsConversion) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  int checked = 0;
  std::set<int> formats;
  for (auto [oc, ic, hw] : std::vector<std::tuple<int, int, int>>{{32, 32, 32},
                                                                  {64, 32, 64},
                                                                  {32, 64, 128},
                                                                  {64, 64, 256},
                                                                  {128, 64, 64},
                                                                  {64, 128, 16},
                                                                  {256, 128, 32},
                                                                  {512, 512, 32},
                                                                  {512, 512, 8},
                                                                  {48, 80, 32},
                                                                  {16, 16, 64},
                                                                  {40, 24, 32},
                                                                  {96, 1024, 16},
                                                                  {64, 64, 8}}) {
    SCOPED_TRACE("oc " + std::to_string(oc) + " ic " + std::to_string(ic) + " at " +
                 std::to_string(hw));
    auto md = WinogradLayout(eng, oc, ic, hw);
    if (!md) continue;
    formats.insert(md->data.format_desc.wino_desc.wino_format);
    ASSERT_EQ(md->data.format_kind, dnnl_format_kind_wino);
    std::vector<float> plain = RandomWeights(static_cast<size_t>(oc) * ic * 9, oc * 131 + ic);
    const size_t floats = md->get_size() / sizeof(float);
    std::vector<float> theirs(floats, NAN), ours(floats, NAN);
    memory from({{oc, ic, 3, 3}, dt::f32, tag::oihw}, eng, plain.data());
    memory to(*md, eng, theirs.data());
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
    ASSERT_TRUE(WinogradWeights(*md, plain.data(), oc, ic, ours.data()));
    size_t differ = 0, inexact = 0;
    float worst = 0;
    for (size_t k = 0; k < floats; ++k) {
      float d = std::fabs(ours[k] - theirs[k]);
      if (!(d <= 1e-6f * (1 + std::fabs(theirs[k])))) ++differ;
      if (!(ours[k] == theirs[k])) ++inexact;
      worst = std::max(worst, d);
    }
    EXPECT_EQ(differ, 0u) << "worst difference " << worst;
#ifndef __FMA__  // the same sums in the same order: the same bits, where none can be fused
    EXPECT_EQ(inexact, 0u);
#endif
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "this CPU (or ONEDNN_MAX_CPU_ISA) has no fp32 Winograd";
  EXPECT_GE(checked, 10);
  // F(4x4, 3x3)'s layout and both of F(2x2, 3x3)'s (oneDNN picks by the map's size).
  EXPECT_EQ(formats.size(), 3u);
}

TEST(WinogradWeightsTest, LeavesOtherLayoutsToOneDnn) {
  std::vector<float> plain(64 * 64 * 9, 1.f), out(64 * 64 * 9, 7.f);
  for (tag t : {tag::oihw, tag::OIhw16i16o}) {
    memory::desc md({64, 64, 3, 3}, dt::f32, t);
    EXPECT_FALSE(WinogradWeights(md, plain.data(), 64, 64, out.data()));
  }
  for (float x : out) ASSERT_EQ(x, 7.f);
}

}  // namespace
}  // namespace sparkify::nn::internal
