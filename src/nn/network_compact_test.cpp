// Which weights and tile our Winograd layers take: compact weights (the file's fp16 3x3
// kernels converted as each block goes) or converted ones, F(2x2), F(4x4), F(6x6) or F(8x8)
// (Precision::kFast), and the
// blocks of tiles; each choice against the same floats or the naive reference.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nn/internal/winograd_conv.h"
#include "nn/network.h"
#include "nn/network_test_util.h"
#include "nn/test_util.h"

namespace sparkify::nn {
namespace {

using testing::Compare;
using testing::CountSteps;
using testing::GraphBuilder;
using testing::OwnWinogradCpu;
using testing::RandomInput;
using testing::Reference;
using testing::RunBoth;
using testing::RunOnce;

// Three convolutions, the middle one 32 -> 32 channels (fp16 weights blocked by 8 outputs),
// and that layer's shape at side x side as our kernel runs it with `tile`.
std::string ThirtyTwoChannelLayerFile() {
  GraphBuilder b(3, 49, /*oihw8o=*/true);
  std::string x = b.Relu(b.Conv("input", 32));
  return b.Build(b.Conv(b.Relu(b.Conv(x, 32)), 1));
}

internal::WinogradConvShape ThirtyTwoChannelLayer(int side, int tile, bool compact) {
  internal::WinogradConvShape shape;
  shape.tile = tile, shape.block = CpuIsaName().rfind("avx512", 0) == 0 ? 16 : 8;
  shape.in_c = shape.out_c = 32;
  shape.in_h = shape.in_w = shape.out_h = shape.out_w = side;
  shape.pad_top = shape.pad_left = 1;
  shape.compact = compact;
  return shape;
}

// Layers with compact weights (the file's fp16 3x3 kernels, converted as each block goes)
// give the same floats as with converted weights, in less memory: F(2x2) and F(4x4), on
// layers with enough channels that each thread takes one block; one takes more input
// channels than a chunk, and not a whole number of chunks. The same weights in a file that
// stores them blocked by 8 output channels (sparkify-graph/2) give the same floats again, the
// compact layers reading them in place (no memory of their own).
TEST(NetworkTest, CompactLayersGiveTheSameFloats) {
  auto build = [](bool oihw8o) {
    GraphBuilder b(3, 44, oihw8o);
    std::string x = b.Relu(b.Conv("input", 128));
    std::string y = b.Relu(b.Conv(b.Concat({x, b.Relu(b.Conv(x, 400))}), 48));  // 528 in
    return b.Build(b.Conv(b.Relu(b.Conv(y, 16)), 1));
  };
  const std::string files[2] = {build(false), build(true)};
  // One reference for every run: the same weights and input (the naive convolution is most of
  // this test's time under the sanitizers).
  const std::vector<float> in = RandomInput(3, 12, 14);
  auto parsed = ParseGraph(files[0]);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const std::vector<float> want = Reference(*parsed, in, 12, 14);
  const bool ours = OwnWinogradCpu();
  for (int tile : {2, 4}) {
    const std::string impl = "wino" + std::to_string(tile) + "x3";
    std::vector<float> out[2][2];  // [blocked file][compact]
    uint64_t bytes[2][2] = {}, in_file[2][2] = {};
    for (bool blocked : {false, true}) {
      for (bool compact : {false, true}) {
        NetworkOptions o;
        o.winograd_f6_share = 1e9;
        o.winograd_min_share = tile == 2 ? 2 : 0;  // every layer that takes Winograd: this tile
        o.winograd_compact = compact;
        auto net = Network::Create(files[blocked], o);
        ASSERT_TRUE(net.ok()) << net.status().ToString();
        std::vector<StepTiming> t;
        auto got = (*net)->Run(in.data(), 12, 14, &t);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        out[blocked][compact] = got->data;
        bytes[blocked][compact] = (*net)->weight_bytes();
        in_file[blocked][compact] = (*net)->weight_bytes_in_file();
        int compact_layers = 0, layers = 0;
        for (const auto& s : t) {
          compact_layers += s.impl.rfind(impl + "c:", 0) == 0;
          layers += s.impl.rfind(impl, 0) == 0;
        }
        if (ours) {
          EXPECT_EQ(layers, 3) << impl << " compact " << compact;
          if (compact) {
            EXPECT_GE(compact_layers, 2) << impl;
          } else {
            EXPECT_EQ(compact_layers, 0) << impl;
          }
        }
        EXPECT_LT(Compare(got->data, want).max, 1e-4) << impl;
      }
    }
    for (int run = 1; run < 4; ++run) {
      const std::vector<float>& o = out[run / 2][run % 2];
      ASSERT_EQ(out[0][0].size(), o.size());
      for (size_t i = 0; i < o.size(); ++i) ASSERT_EQ(out[0][0][i], o[i]) << impl << " " << run;
    }
    EXPECT_EQ(in_file[0][1], 0u);
    EXPECT_EQ(in_file[1][0], 0u);
    if (ours) {
      EXPECT_LT(bytes[0][1], bytes[0][0]) << impl;
      EXPECT_EQ(bytes[1][0], bytes[0][0]) << impl;
      // The compact layers' fp16 weights: in the cache from a plain file, in place from a
      // blocked one.
      EXPECT_GT(in_file[1][1], 0u) << impl;
      EXPECT_EQ(bytes[1][1] + in_file[1][1], bytes[0][1]) << impl;
    }
  }
}

// Below a quarter of Winograd's threshold, a layer takes compact F(2x2) where each thread has
// 18 tiles' worth of its pixels (the direct convolution's fp32 weights would be twice the
// bytes), never F(4x4); the direct convolution on smaller maps and without compact weights.
// One thread: the fewest pixels, so the naive reference stays quick under the sanitizers.
TEST(NetworkTest, SmallMapsTakeCompactF2OrTheDirectConvolution) {
  GraphBuilder b(3, 45);
  std::string x = b.Relu(b.Conv("input", 64));
  std::string p = b.MaxPool(b.MaxPool(x));  // a quarter of the input's sides: small
  std::string y = b.Relu(b.Conv(b.Relu(b.Conv(p, 64)), 64));
  std::string z = b.Relu(b.Conv(b.MaxPool(y), 32));  // an eighth
  const std::string file = b.Build(b.Conv(b.Resize(z, 8), 1));
  // At 36x36: 9x9 (81 pixels: 20 F(2x2) tiles) and 4x4; at 72x72: 18x18 (enough for F(4x4),
  // but small) and 9x9.
  for (int side : {36, 72}) {
    for (bool compact : {true, false}) {
      NetworkOptions o;
      o.winograd_f6_share = 1e9;
      o.winograd_min_share = 1;  // the input's size; a quarter of it: half its sides
      o.winograd_compact = compact;
      o.threads = 1;
      std::vector<StepTiming> t;
      EXPECT_LT(RunBoth(file, side, side, o, &t).max, 1e-4) << side << " compact " << compact;
      std::vector<std::string> convs;  // the convolutions' code paths, in order
      for (const auto& s : t) {
        if (s.name.rfind("conv", 0) == 0) convs.push_back(s.impl);
      }
      ASSERT_EQ(convs.size(), 5u);
      if (OwnWinogradCpu()) {
        // Direct: any code path but ours.
        auto is = [](const std::string& impl, bool f2c) {
          return f2c ? impl.rfind("wino2x3c:", 0) == 0 : impl.rfind("wino", 0) != 0;
        };
        for (int i : {1, 2}) EXPECT_TRUE(is(convs[i], compact)) << side << " " << convs[i];
        EXPECT_TRUE(is(convs[3], compact && side == 72)) << side << " " << convs[3];
      }
    }
  }
}

// Between a quarter of the threshold and the threshold, a compact layer takes F(4x4) where
// each thread has 18 tiles' worth of its pixels (18x18 on 1 thread: 20 tiles), F(2x2) on
// fewer (16x16: 16); converted weights stay F(2x2). F(2x2) at one size and F(4x4) at another
// share the weights.
TEST(NetworkTest, CompactLayersWithEnoughTilesTakeF4) {
  GraphBuilder b(3, 46);
  std::string x = b.Relu(b.Conv("input", 64));
  std::string y = b.Relu(b.Conv(b.Relu(b.Conv(x, 64)), 64));
  const std::string file = b.Build(b.Conv(y, 1));
  for (bool compact : {true, false}) {
    NetworkOptions o;
    o.winograd_f6_share = 1e9;
    o.winograd_min_share = 2;  // every map below it, none below a quarter of it
    o.winograd_compact = compact;
    o.threads = 1;
    auto net = Network::Create(file, o);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    uint64_t bytes = 0;
    for (int side : {18, 16}) {
      std::vector<float> in = RandomInput(3, side, side);
      std::vector<StepTiming> t;
      auto got = (*net)->Run(in.data(), side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_LT(Compare(got->data, Reference((*net)->graph(), in, side, side)).max, 1e-4)
          << side << " compact " << compact;
      std::string want = !compact ? "wino2x3:" : side == 18 ? "wino4x3c:" : "wino2x3c:";
      const int layers = CountSteps(t, want);
      if (OwnWinogradCpu()) {
        EXPECT_EQ(layers, 2) << side << " compact " << compact;
      }
      if (compact && bytes > 0) {
        EXPECT_EQ((*net)->weight_bytes(), bytes) << side;
      }
      bytes = (*net)->weight_bytes();
    }
  }
}

// A compact F(4x4) layer takes F(6x6) where its tiles need 10% fewer products (48x48: 64 tiles
// of 6x6 against 144 of 4x4, 0.79x), and gives the very floats of converted weights of the
// tile it takes; not F(6x6) with winograd_compact_f6 off, nor where the padding eats the gain
// (32x32: 36 tiles against 64, 1.0x), nor on too few tiles (24x24: 16, under 18 a thread).
// One thread: each layer is one block. The sizes share the one copy of the fp16 weights. (The
// converted weights' layers are checked against the reference convolution above.)
TEST(NetworkTest, CompactLayersTakeF6WhereItSavesProducts) {
  GraphBuilder b(3, 47);
  std::string x = b.Relu(b.Conv("input", 96));
  const std::string file = b.Build(b.Conv(b.Relu(b.Conv(x, 96)), 1));
  const bool ours = OwnWinogradCpu();
  for (int side : {48, 32, 24}) {
    const bool f6 = side == 48;
    std::vector<float> in = RandomInput(3, side, side);
    std::vector<float> converted;
    // Converted weights of the tile expected; compact; compact without F(6x6).
    for (int run = 0; run < 3; ++run) {
      NetworkOptions o;
      o.winograd_min_share = 0;
      o.winograd_f6_share = run == 0 && f6 ? 0 : 1e9;
      o.winograd_compact = run > 0;
      o.winograd_compact_f6 = run != 2;
      o.threads = 1;
      std::vector<StepTiming> t;
      auto got = RunOnce(file, o, in, side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      const std::string want =
          std::string(f6 && run < 2 ? "wino6x3" : "wino4x3") + (run == 0 ? ":" : "c:");
      const int layers = CountSteps(t, want);
      if (!ours) continue;
      EXPECT_EQ(layers, 1) << side << " " << want;
      if (run == 0) converted = got->data;
      if (run == 1) {
        ASSERT_EQ(got->data.size(), converted.size());
        for (size_t i = 0; i < got->data.size(); ++i) {
          ASSERT_EQ(got->data[i], converted[i]) << side << " " << i;
        }
      }
    }
  }
  NetworkOptions o;
  o.winograd_min_share = 0;
  o.winograd_f6_share = 1e9;
  o.threads = 1;
  auto net = Network::Create(file, o);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  uint64_t bytes = 0;
  for (int side : {48, 32}) {
    std::vector<float> in = RandomInput(3, side, side);
    ASSERT_TRUE((*net)->Run(in.data(), side, side).ok()) << side;
    if (side == 32) {
      EXPECT_EQ((*net)->weight_bytes(), bytes);
    }
    bytes = (*net)->weight_bytes();
  }
}

// An F(4x4) layer whose threads take several blocks of tiles (96x96: 576 tiles of 32 -> 32
// channels, 72 a block) keeps compact weights with winograd_compact_many_blocks, each block
// converting them again, and takes F(6x6) by the 10% rule (256 tiles of 6x6: 0.79x the
// products): the very floats of converted F(6x6) weights, with no converted weights held.
// Without the option, or without F(6x6) (compact F(4x4) would convert the weights in every
// block without fewer products to pay for it), it keeps converted F(4x4) weights. Two threads.
TEST(NetworkTest, ManyBlockLayersKeepCompactWeights) {
  const std::string file = ThirtyTwoChannelLayerFile();
  const bool ours = OwnWinogradCpu();
  const int side = 96;
  // The layer, as it runs with the option.
  EXPECT_GT(internal::PlanWinogradConv(ThirtyTwoChannelLayer(side, 6, true), 2).blocks, 4);
  std::vector<float> in = RandomInput(3, side, side);
  std::vector<float> converted, reference;
  // Converted F(6x6); the option on; the option off; the option on, compact F(6x6) off.
  for (int run = 0; run < 4; ++run) {
    NetworkOptions o;
    o.winograd_min_share = 0;
    o.winograd_f6_share = run == 0 ? 0 : 1e9;
    o.winograd_compact = run > 0;
    o.winograd_compact_many_blocks = run == 1 || run == 3;
    o.winograd_compact_f6 = run != 3;
    o.threads = 2;
    auto net = Network::Create(file, o);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    std::vector<StepTiming> t;
    auto got = (*net)->Run(in.data(), side, side, &t);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (!ours) continue;
    const std::string want = run == 0 ? "wino6x3:" : run == 1 ? "wino6x3c:" : "wino4x3:";
    if (run >= 2) {
      EXPECT_EQ((*net)->weight_bytes_in_file(), 0u) << run;
    }
    const int layers = CountSteps(t, want);
    EXPECT_EQ(layers, 1) << want;
    if (run == 0) converted = got->data;
    if (run == 1) {
      EXPECT_EQ((*net)->weight_bytes_in_file(), 32u * 32 * 9 * 2);
      ASSERT_EQ(got->data.size(), converted.size());
      for (size_t i = 0; i < got->data.size(); ++i) ASSERT_EQ(got->data[i], converted[i]) << i;
    }
    if (run >= 2) {  // the same weights and input: one reference for both runs
      if (reference.empty()) reference = Reference((*net)->graph(), in, side, side);
      EXPECT_LT(Compare(got->data, reference).max, 1e-4) << run;
    }
  }
}

// Our Winograd kernel's blocking (NetworkOptions::winograd_block_bytes, _min_rows) decides
// which tiles a thread takes together, not the arithmetic: each tile's sums run over the same
// channels in the same order. A 32 -> 32 layer at 96x96 with F(6x6) by share refused: with
// converted weights it takes F(4x4), compact it takes compact F(6x6) (the 10% rule), each
// converting its weights again in every block. Blocks of 18 rows (several more a thread than
// the default's) give the very floats of the default blocks, on both.
TEST(NetworkTest, TheBlockingChangesTheBlocksNotTheFloats) {
  const std::string file = ThirtyTwoChannelLayerFile();
  const bool ours = OwnWinogradCpu();
  const int side = 96;
  const internal::WinogradBlocking small{16 << 10, 18, 96};
  std::vector<float> in = RandomInput(3, side, side);
  for (const bool compact : {false, true}) {
    const auto shape = ThirtyTwoChannelLayer(side, compact ? 6 : 4, compact);  // as it runs
    const int blocks = internal::PlanWinogradConv(shape, 2).blocks;
    EXPECT_GT(blocks, 2) << compact;
    EXPECT_GT(internal::PlanWinogradConv(shape, 2, small).blocks, 2 * blocks) << compact;
    std::vector<float> first;
    for (const bool tiny : {false, true}) {
      NetworkOptions o;
      o.winograd_min_share = 0;
      o.winograd_f6_share = 1e9;
      o.winograd_compact = compact;
      if (tiny) o.winograd_block_bytes = small.block_bytes, o.winograd_min_rows = small.min_rows;
      o.threads = 2;
      std::vector<StepTiming> t;
      auto got = RunOnce(file, o, in, side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (ours) {
        const std::string want = compact ? "wino6x3c:" : "wino4x3:";
        const int layers = CountSteps(t, want);
        EXPECT_EQ(layers, 1) << want << " tiny " << tiny;
      }
      if (first.empty()) {
        first = got->data;
        continue;
      }
      ASSERT_EQ(got->data.size(), first.size());
      for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(got->data[i], first[i]) << compact << i;
    }
  }
}

// Precision::kFast (NetworkOptions::winograd_f8) takes F(8x8) where the layer would take F(6x6)
// or compact F(4x4) and 8x8 tiles need 10% fewer products: at 96x96, 144 tiles of 100 points
// against 256 of 64 (0.88x), with converted weights (F(6x6) by share) and with compact ones
// (compact F(6x6) by the 10% rule, many blocks); at 32x32, 16 tiles against 36 of 6x6 (0.69x)
// or, compact, against 64 of 4x4 (F(6x6) refused there: 1.0x); the converted and compact
// weights giving the very same floats, within F(8x8)'s rounding of the reference. At 36x36 (25
// tiles against 36: 1.09x) it keeps F(6x6). fp32 never takes it.
TEST(NetworkTest, FastTakesF8WhereItSavesProducts) {
  const std::string file = ThirtyTwoChannelLayerFile();
  const bool ours = OwnWinogradCpu();
  for (const int side : {96, 32, 36}) {
    const bool f8 = side != 36;
    std::vector<float> in = RandomInput(3, side, side);
    const std::vector<float> reference = Reference(*ParseGraph(file), in, side, side);
    std::vector<float> converted;
    // Converted weights, compact ones; then fp32 with converted weights.
    for (int run = 0; run < 3; ++run) {
      NetworkOptions o;
      o.precision = run < 2 ? Precision::kFast : Precision::kFp32;
      o.winograd_min_share = 0;
      o.winograd_f6_share = run == 1 ? 1e9 : 0;
      o.winograd_compact = run == 1;
      o.threads = 2;
      std::vector<StepTiming> t;
      auto got = RunOnce(file, o, in, side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_LT(Compare(got->data, reference).max, run < 2 ? 1e-3 : 1e-4) << side << " " << run;
      if (!ours) continue;
      const std::string want =
          std::string(f8 && run < 2 ? "wino8x3" : "wino6x3") + (run == 1 ? "c:" : ":");
      EXPECT_EQ(CountSteps(t, want), 1) << side << " " << want;
      if (run == 0) converted = got->data;
      if (run == 1) {
        ASSERT_EQ(got->data.size(), converted.size());
        for (size_t i = 0; i < converted.size(); ++i) {
          ASSERT_EQ(got->data[i], converted[i]) << side << " " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sparkify::nn
