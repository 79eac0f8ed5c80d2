#include "nn/internal/winograd_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "nn/internal/compile.h"
#include "nn/test_util.h"

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

// oneDNN's own conversion of `plain` into `md`.
std::vector<float> TheirConversion(const dnnl::engine& eng, const memory::desc& md,
                                   std::vector<float>& plain, memory::dim oc, memory::dim ic) {
  dnnl::stream stream(eng);
  std::vector<float> theirs(md.get_size() / sizeof(float), NAN);
  memory from({{oc, ic, 3, 3}, dt::f32, tag::oihw}, eng, plain.data());
  memory to(md, eng, theirs.data());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return theirs;
}

// Output channels, input channels, map side: every channel count IS-Net's Winograd layers
// have and a few others (blocks of 16 and, past them, padded ones), at map sizes for which
// oneDNN picks each of its layouts.
struct WeightShape {
  int oc, ic, hw;
};
constexpr WeightShape kShapes[] = {{32, 32, 32},   {64, 32, 64},  {32, 64, 128},  {64, 64, 256},
                                   {128, 64, 64},  {64, 128, 16}, {256, 128, 32}, {512, 512, 32},
                                   {512, 512, 8},  {48, 80, 32},  {16, 16, 64},   {40, 24, 32},
                                   {96, 1024, 16}, {64, 64, 8},   {40, 24, 8}};

// Ours against oneDNN's own reorder, element by element.
TEST(WinogradWeightsTest, MatchesOneDnnsConversion) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  int checked = 0, padded = 0;
  std::set<int> formats;
  for (const auto& [oc, ic, hw] : kShapes) {
    SCOPED_TRACE("oc " + std::to_string(oc) + " ic " + std::to_string(ic) + " at " +
                 std::to_string(hw));
    auto md = WinogradLayout(eng, oc, ic, hw);
    if (!md) continue;
    ASSERT_EQ(md->data.format_kind, dnnl_format_kind_wino);
    ASSERT_TRUE(WinogradWeightsFit(*md, oc, ic));
    const dnnl_wino_desc_t& w = md->data.format_desc.wino_desc;
    formats.insert(w.wino_format);
    if (w.oc > oc || w.ic > ic) ++padded;
    std::vector<float> plain = RandomWeights(static_cast<size_t>(oc) * ic * 9, oc * 131 + ic);
    std::vector<float> theirs = TheirConversion(eng, *md, plain, oc, ic);
    std::vector<float> ours(theirs.size(), NAN);
    WinogradWeights(*md, plain.data(), oc, ic, ours.data());
    size_t differ = 0, inexact = 0;
    float worst = 0;
    for (size_t k = 0; k < theirs.size(); ++k) {
      float d = std::fabs(ours[k] - theirs[k]);
      if (!(d <= 1e-6f * (1 + std::fabs(theirs[k])))) ++differ;
      if (!(ours[k] == theirs[k])) ++inexact;
      worst = std::max(worst, d);
    }
    EXPECT_EQ(differ, 0u) << "worst difference " << worst;
#ifndef __FMA__  // the same sums in the same order as Debian's oneDNN 2.6: the same bits
    EXPECT_EQ(inexact, 0u);
#endif
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "this CPU (or ONEDNN_MAX_CPU_ISA) has no fp32 Winograd";
  EXPECT_GE(checked, 10);
  // F(4x4, 3x3)'s layout and both of F(2x2, 3x3)'s (oneDNN picks by the map's size), and
  // channel counts the layout pads.
  EXPECT_EQ(formats.size(), 3u);
  EXPECT_GE(padded, 1);
}

TEST(WinogradWeightsTest, LeavesOtherLayoutsToOneDnn) {
  for (tag t : {tag::oihw, tag::OIhw16i16o}) {
    EXPECT_FALSE(WinogradWeightsFit(memory::desc({64, 64, 3, 3}, dt::f32, t), 64, 64));
  }
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  auto md = WinogradLayout(eng, 64, 64, 64);
  if (!md) GTEST_SKIP() << "this CPU (or ONEDNN_MAX_CPU_ISA) has no fp32 Winograd";
  ASSERT_TRUE(WinogradWeightsFit(*md, 64, 64));
  EXPECT_FALSE(WinogradWeightsFit(*md, 32, 64));  // not the weights it describes
  EXPECT_FALSE(WinogradWeightsFit(*md, 64, 128));
  // The same descriptor with one field changed: a layout, type or tile this does not know.
  auto changed = [&](auto edit) {
    dnnl_memory_desc_t d = md->data;
    edit(d);
    return memory::desc(d);
  };
  EXPECT_FALSE(WinogradWeightsFit(changed([](dnnl_memory_desc_t& d) {
                                    d.format_desc.wino_desc.wino_format = dnnl_wino_wei_aaOIoi;
                                  }),
                                  64, 64));
  EXPECT_FALSE(WinogradWeightsFit(
      changed([](dnnl_memory_desc_t& d) { d.format_desc.wino_desc.alpha = 5; }), 64, 64));
  EXPECT_FALSE(WinogradWeightsFit(
      changed([](dnnl_memory_desc_t& d) { d.format_desc.wino_desc.oc_block = 8; }), 64, 64));
  EXPECT_FALSE(
      WinogradWeightsFit(changed([](dnnl_memory_desc_t& d) { d.data_type = dnnl_bf16; }), 64, 64));
  EXPECT_FALSE(WinogradWeightsFit(
      changed([](dnnl_memory_desc_t& d) { d.format_desc.wino_desc.ic_block = 0; }), 64, 64));
}

// The weight cache gives the same Winograd weights whichever converts them, and oneDNN's
// conversion (what a layout we do not know gets) runs on the cache's reused scratchpad.
TEST(WinogradWeightsTest, TheCacheConvertsAlikeEitherWay) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  testing::GraphBuilder b(64, 5);
  std::string a = b.Conv("input", 64);
  std::string c = b.Conv(a, 128);
  auto file = b.Build(b.Conv(c, 64));
  auto graph = ParseGraph(file);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  WeightCache ours(*graph, eng, true), theirs(*graph, eng, false);
  int compared = 0;
  for (const Node& n : graph->nodes) {
    if (n.op != Op::kConv) continue;
    const auto& shape = graph->weights[static_cast<size_t>(n.weight)].shape;
    const memory::dim oc = shape[0], ic = shape[1];
    for (int hw : {8, 64}) {  // F(2x2, 3x3) and F(4x4, 3x3) layouts where oneDNN has them
      auto md = WinogradLayout(eng, oc, ic, hw);
      if (!md) continue;
      memory::dims dims{oc, ic, 3, 3};
      memory x = ours.Weights(n.weight, dims, *md), y = theirs.Weights(n.weight, dims, *md);
      const size_t floats = md->get_size() / sizeof(float);
      const auto* p = static_cast<const float*>(x.get_data_handle());
      const auto* q = static_cast<const float*>(y.get_data_handle());
      float worst = 0;
      for (size_t k = 0; k < floats; ++k) worst = std::max(worst, std::fabs(p[k] - q[k]));
      EXPECT_LE(worst, 1e-5f);
      EXPECT_EQ(ours.Weights(n.weight, dims, *md).get_data_handle(), x.get_data_handle());
      ++compared;
    }
  }
  if (compared == 0) GTEST_SKIP() << "this CPU (or ONEDNN_MAX_CPU_ISA) has no fp32 Winograd";
  EXPECT_EQ(compared, 6);
  EXPECT_EQ(ours.bytes(), theirs.bytes());
}

// Lent memory (a new plan's arena) holds the plain weights while they convert, where they fit;
// EndLoan leaves it zeroed, as it was given. Where they do not fit, the cache's own buffer.
TEST(WeightCacheTest, ConvertsInLentMemoryAndZeroesItAfter) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  testing::GraphBuilder b(64, 9);
  auto file = b.Build(b.Conv(b.Conv("input", 64), 128));  // weights: 64x64x3x3, then 128x64
  auto graph = ParseGraph(file);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const int small = graph->nodes[0].weight, large = graph->nodes[1].weight;
  const size_t large_bytes = 128 * 64 * 9 * sizeof(float);
  std::shared_ptr<void> arena = AllocateLarge(large_bytes - 64);  // fits the small one only
  const size_t arena_bytes = large_bytes - 64;
  auto* lent = static_cast<const char*>(arena.get());
  WeightCache cache(*graph, eng);
  cache.Lend(arena.get(), arena_bytes);
  for (int id : {small, large}) {
    const size_t n = static_cast<size_t>(graph->weights[static_cast<size_t>(id)].elements());
    std::vector<float> want(n);
    graph->CopyWeight(id, want.data());
    const float* seen = nullptr;
    const float* got = cache.Converted(id, "copy", n, [&](const float* plain, float* out) {
      seen = plain;
      std::copy(plain, plain + n, out);
    });
    EXPECT_EQ(std::vector<float>(got, got + n), want) << id;
    const bool in_loan = reinterpret_cast<const char*>(seen) >= lent &&
                         reinterpret_cast<const char*>(seen) < lent + arena_bytes;
    EXPECT_EQ(in_loan, id == small) << id;
  }
  cache.EndLoan();
  for (size_t k = 0; k < arena_bytes; ++k) ASSERT_EQ(lent[k], 0) << k;
}

}  // namespace
}  // namespace sparkify::nn::internal
