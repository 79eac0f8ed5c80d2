#include "nn/network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "nn/internal/compile.h"
#include "nn/internal/winograd_conv.h"
#include "nn/test_util.h"

namespace sparkify::nn {
namespace {

using testing::GraphBuilder;
using testing::RandomInput;
using testing::Reference;

struct Diff {
  double max = 0, mean = 0;
};

Diff Compare(const std::vector<float>& a, const std::vector<float>& b) {
  Diff d;
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double e = std::fabs(double(a[i]) - b[i]);
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= std::max<size_t>(a.size(), 1);
  return d;
}

// Runs `file` at h x w with the engine and with the naive reference; returns the difference.
Diff RunBoth(const std::string& file, int h, int w, NetworkOptions options = {},
             std::vector<StepTiming>* timings = nullptr) {
  auto net = Network::Create(file, options);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  if (!net.ok()) return {1e9, 1e9};
  std::vector<float> x = RandomInput((*net)->graph().input_channels, h, w);
  auto got = (*net)->Run(x.data(), h, w, timings);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return {1e9, 1e9};
  std::vector<float> want = Reference((*net)->graph(), x, h, w);
  return Compare(got->data, want);
}

// U^2-Net's building block, small: encoder, dilated bottom, decoder with concats and
// upsampling, the residual Add, then a 1-channel head upsampled through a sigmoid.
std::string Rsu(int in_channels, int mid, int out) {
  GraphBuilder b(in_channels, 42);
  std::string hxin = b.Relu(b.Conv("input", out));
  std::string h1 = b.Relu(b.Conv(hxin, mid));
  std::string h2 = b.Relu(b.Conv(b.MaxPool(h1), mid));
  std::string h3 = b.Relu(b.Conv(b.MaxPool(h2), mid));
  std::string h4 = b.Relu(b.Conv(h3, mid, 3, 1, 2));
  std::string h3d = b.Relu(b.Conv(b.Concat({h4, h3}), mid));
  std::string h2d = b.Relu(b.Conv(b.Concat({b.Resize(h3d), h2}), mid));
  std::string h1d = b.Relu(b.Conv(b.Concat({b.Resize(h2d), h1}), out));
  std::string sum = b.Add(h1d, hxin);
  return b.Build(b.Sigmoid(b.Resize(b.Conv(sum, 1), 2)));
}

TEST(NetworkTest, RsuBlockMatchesTheReference) {
  for (auto [h, w] : {std::pair{32, 32}, {24, 40}, {36, 36}}) {
    Diff d = RunBoth(Rsu(3, 16, 32), h, w);
    EXPECT_LT(d.max, 2e-5) << h << "x" << w;
  }
}

TEST(NetworkTest, WinogradLayersStayWithinFp32Tolerance) {
  // 3x3, stride 1, whole channel blocks, enough pixels: Winograd where the CPU has it (ours;
  // oneDNN's, AVX-512 only, wants 32+ channels too).
  NetworkOptions o;
  o.winograd_min_share = 0;
  std::vector<StepTiming> t;
  Diff d = RunBoth(Rsu(3, 32, 64), 64, 64, o, &t);
  EXPECT_LT(d.max, 1e-4);
  bool wino = false;
  for (const auto& s : t) wino |= s.impl.find("wino") != std::string::npos;
  if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
    EXPECT_TRUE(wino) << "no Winograd layer ran";  // ours has AVX-512 and AVX2 versions
  }
  // oneDNN's Winograd (AVX-512 only; elsewhere direct) gives the same within tolerance (a
  // smaller map: the naive reference is most of this test's time under the sanitizers).
  o.own_winograd = false;
  d = RunBoth(Rsu(3, 32, 64), 40, 40, o);
  EXPECT_LT(d.max, 1e-4);
}

// AVX-512's layout on any CPU (internal::UseAvx512LayoutForTests: blocks of 16 channels in
// oneDNN and in our Winograd kernel, emulated where the CPU has no AVX-512): the same values
// as the reference, every tile of our kernel (converted and compact weights, the fused pools,
// Resizes and Concats, the residual Add) in its 16-channel form.
TEST(NetworkTest, Avx512LayoutOnAnyCpu) {
  if (CpuIsaName().rfind("avx512", 0) != 0 && CpuIsaName().rfind("avx2", 0) != 0) {
    GTEST_SKIP() << "our Winograd kernel needs AVX2 or AVX-512";
  }
  struct Reset {
    ~Reset() { internal::UseAvx512LayoutForTests(false); }
  } reset;
  internal::UseAvx512LayoutForTests(true);
  std::set<std::string> kernels;
  // (side, F(6x6)'s share, Winograd's share, compact): F(6x6) and compact F(6x6); F(4x4)
  // and F(2x2), converted and compact.
  for (auto [side, f6, min, compact] :
       {std::tuple{48, 1.0 / 16, 0.0, true}, {32, 1e9, 0.5, false}, {32, 1e9, 0.5, true}}) {
    const int h = side, w = side + 16;
    NetworkOptions o;
    o.winograd_min_share = min;
    o.winograd_f6_share = f6;
    o.winograd_compact = compact;
    std::vector<StepTiming> t;
    EXPECT_LT(RunBoth(Rsu(3, 32, 64), h, w, o, &t).max, 1e-4) << h << "x" << w;
    for (const auto& s : t) {
      if (s.impl.rfind("wino", 0) == 0) kernels.insert(s.impl);
    }
  }
  std::string all;
  for (const auto& k : kernels) all += k + " ";
  for (const char* k : {"wino6x3:avx512", "wino6x3c:avx512", "wino4x3:avx512", "wino2x3:avx512",
                        "wino2x3c:avx512"}) {
    EXPECT_EQ(kernels.count(k), 1u) << k << " did not run; ran: " << all;
  }
  for (const auto& k : kernels) EXPECT_NE(k.find(":avx512"), std::string::npos) << k;
}

// Our kernel takes F(6x6) from winograd_f6_share up, F(4x4) from winograd_min_share up and
// F(2x2) down to a quarter of it; each weight is converted once per layout.
TEST(NetworkTest, WinogradTilesFollowTheLayersShare) {
  NetworkOptions o;
  o.winograd_f6_share = 1.0 / 2;   // 32x32 input: 32x32 maps F(6x6),
  o.winograd_min_share = 1.0 / 8;  // 16x16 F(4x4), 8x8 F(2x2)
  std::vector<StepTiming> t;
  Diff d = RunBoth(Rsu(3, 32, 64), 32, 32, o, &t);
  EXPECT_LT(d.max, 1e-4);
  int f6 = 0, f4 = 0, f2 = 0;
  for (const auto& s : t) {
    f6 += s.impl.rfind("wino6x3", 0) == 0;
    f4 += s.impl.rfind("wino4x3", 0) == 0;
    f2 += s.impl.rfind("wino2x3", 0) == 0;
  }
  if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
    EXPECT_GT(f6, 0);
    EXPECT_GT(f4, 0);
    EXPECT_GT(f2, 0);
  }
}

// y = Relu(Conv(x)) + x: the residual is the convolution's own input, so the sum cannot be
// accumulated in x's memory; and x = the network's input (plain NCHW) as a residual.
TEST(NetworkTest, AResidualTheConvolutionReadsIsNotOverwritten) {
  for (bool own : {true, false}) {
    NetworkOptions o;
    o.winograd_min_share = 0;
    o.own_winograd = own;
    GraphBuilder b(3, 5);
    std::string x = b.Relu(b.Conv("input", 32));
    std::string y = b.Add(b.Relu(b.Conv(x, 32)), x);
    EXPECT_LT(RunBoth(b.Build(b.Conv(y, 1)), 20, 28, o).max, 1e-4) << "own " << own;

    GraphBuilder c(16, 6);
    std::string z = c.Add(c.Relu(c.Conv("input", 16)), "input");
    EXPECT_LT(RunBoth(c.Build(c.Conv(z, 1)), 20, 28, o).max, 1e-4) << "own " << own;
  }
}

// Options that put a test network's full-size 3x3 layers on one Winograd tile each: F(6x6),
// F(4x4) or F(2x2) by the shares, on 2 threads (compact F(2x2) layers do not take F(4x4) at
// these sizes on 2 threads); with the name the kernel's steps start with.
struct TileOptions {
  NetworkOptions options;
  std::string impl;
};

std::vector<TileOptions> EachTile() {
  std::vector<TileOptions> all;
  for (auto [f6, min, impl] : {std::tuple{0.0, 0.0, "wino6x3"}, std::tuple{1e9, 0.0, "wino4x3"},
                               std::tuple{1e9, 2.0, "wino2x3"}}) {
    NetworkOptions o;
    o.winograd_f6_share = f6;
    o.winograd_min_share = min;
    o.threads = 2;
    all.push_back({o, impl});
  }
  return all;
}

// A MaxPool after a Winograd layer is written by that layer (ceil and floor, odd sides, with
// the layer's residual); the same numbers as the reference.
TEST(NetworkTest, APoolAfterAWinogradLayerIsFusedIntoIt) {
  // The pooled layer sums its residual x in place (x dies there); F(6x6), F(4x4) and F(2x2) by
  // the shares (all maps have the input's size).
  for (const auto& [o, impl] : EachTile()) {
    for (bool ceil : {true, false}) {
      GraphBuilder b(3, ceil ? 31 : 32);
      std::string x = b.Relu(b.Conv("input", 16));  // one block (AVX2: two): a quick reference
      std::string h = b.Relu(b.Conv(x, 16));
      std::string y = b.Add(b.Relu(b.Conv(h, 16)), x);
      std::string z = b.MaxPool(y, 2, 2, ceil);
      const std::string file = b.Build(b.Conv(b.Relu(b.Conv(z, 16)), 1));
      for (auto [height, width] : {std::pair{33, 17}, {20, 26}, {7, 9}}) {
        std::vector<StepTiming> t;
        Diff d = RunBoth(file, height, width, o, &t);
        EXPECT_LT(d.max, 1e-4) << impl << " ceil " << ceil << " at " << height << "x" << width;
        bool fused = false;
        for (const auto& s : t) {
          fused |= s.name.find("+add(in place)+maxpool") != std::string::npos &&
                   s.impl.rfind(impl, 0) == 0;
        }
        if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
          EXPECT_TRUE(fused) << impl << " ceil " << ceil << " at " << height << "x" << width;
        }
      }
    }
  }
}

// A decoder's Resize by 2 and Concat, read by the Winograd layer after them as it goes (no
// step of their own), in every tile; not where the upsampled map has another reader.
TEST(NetworkTest, AResizeAndAConcatBeforeAWinogradLayerAreFusedIntoIt) {
  for (const auto& [o, impl] : EachTile()) {
    GraphBuilder b(3, 51);
    std::string x = b.Relu(b.Conv("input", 16));
    std::string low = b.Relu(b.Conv(b.MaxPool(x), 32));                // half the sides
    std::string y = b.Relu(b.Conv(b.Concat({b.Resize(low), x}), 16));  // fused
    std::string up = b.Resize(b.Relu(b.Conv(b.MaxPool(y), 16)));
    std::string z = b.Relu(b.Conv(b.Concat({up, y}), 16));  // not: `up` is read twice
    const std::string file = b.Build(b.Conv(b.Add(z, up), 1));
    for (auto [height, width] : {std::pair{20, 26}, {12, 8}}) {
      std::vector<StepTiming> t;
      Diff d = RunBoth(file, height, width, o, &t);
      EXPECT_LT(d.max, 1e-4) << impl << " at " << height << "x" << width;
      int fused = 0, resizes = 0;
      for (const auto& s : t) {
        if (s.name.find("<- resize+concat") != std::string::npos) {
          ++fused;
          EXPECT_EQ(s.impl.rfind(impl, 0), 0u) << s.name << ": " << s.impl;
        }
        resizes += s.name.rfind("resize", 0) == 0;  // GraphBuilder's names
      }
      if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
        EXPECT_EQ(fused, 1) << impl << " at " << height << "x" << width;
        EXPECT_EQ(resizes, 1) << impl << " at " << height << "x" << width;
      }
    }
  }
}

// Where fusing would be wrong or cannot be done, the Resize and the Concat keep their steps.
TEST(NetworkTest, AResizeAndAConcatStayStepsWhereTheLayerCannotReadThem) {
  auto fused_steps = [](const std::string& file) {
    std::vector<StepTiming> t;
    NetworkOptions o;
    o.threads = 2;
    EXPECT_LT(RunBoth(file, 20, 26, o, &t).max, 1e-4);
    int n = 0;
    for (const auto& s : t) n += s.name.find("<- resize+concat") != std::string::npos;
    return n;
  };
  const bool ours = CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
  {
    // A step between the Resize and the layer sums into the half-size map in place (it dies
    // there, as far as the graph's order goes): read later, it would hold that sum. Only the
    // last pair is fused.
    GraphBuilder b(3, 53);
    std::string x = b.Relu(b.Conv("input", 16));
    std::string p = b.MaxPool(x);
    std::string low = b.Relu(b.Conv(p, 16));
    std::string q = b.Relu(b.Conv(p, 16));
    std::string up = b.Resize(low);
    std::string sum = b.Add(b.Relu(b.Conv(q, 16)), low);
    std::string y = b.Relu(b.Conv(b.Concat({up, x}), 16));
    const std::string file = b.Build(b.Conv(b.Relu(b.Conv(b.Concat({b.Resize(sum), y}), 16)), 1));
    const int n = fused_steps(file);
    if (ours) {
      EXPECT_EQ(n, 1);
    }
  }
  {
    // The Concat read by two layers.
    GraphBuilder b(3, 54);
    std::string x = b.Relu(b.Conv("input", 16));
    std::string cat = b.Concat({b.Resize(b.Relu(b.Conv(b.MaxPool(x), 16))), x});
    EXPECT_EQ(fused_steps(b.Build(b.Conv(b.Add(b.Conv(cat, 16), b.Conv(cat, 16)), 1))), 0);
  }
  {
    // A dilated layer (our kernel takes it, but not with upsampled channels).
    GraphBuilder b(3, 55);
    std::string x = b.Relu(b.Conv("input", 16));
    std::string cat = b.Concat({b.Resize(b.Relu(b.Conv(b.MaxPool(x), 16))), x});
    EXPECT_EQ(fused_steps(b.Build(b.Conv(b.Relu(b.Conv(cat, 16, 3, 1, 2)), 1))), 0);
  }
  {
    // Without our Winograd kernel.
    GraphBuilder b(3, 52);
    std::string x = b.Relu(b.Conv("input", 16));
    std::string low = b.Relu(b.Conv(b.MaxPool(x), 16));
    const std::string file = b.Build(b.Conv(b.Relu(b.Conv(b.Concat({b.Resize(low), x}), 16)), 1));
    NetworkOptions o;
    o.own_winograd = false;
    std::vector<StepTiming> t;
    EXPECT_LT(RunBoth(file, 16, 16, o, &t).max, 1e-4);
    for (const auto& s : t) EXPECT_EQ(s.name.find("<- resize+concat"), std::string::npos) << s.name;
  }
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
  const bool ours = CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
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
      if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
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
      int layers = 0;
      for (const auto& s : t) layers += s.impl.rfind(want, 0) == 0;
      if (CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0) {
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
  const bool ours = CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
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
      auto net = Network::Create(file, o);
      ASSERT_TRUE(net.ok()) << net.status().ToString();
      std::vector<StepTiming> t;
      auto got = (*net)->Run(in.data(), side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      const std::string want =
          std::string(f6 && run < 2 ? "wino6x3" : "wino4x3") + (run == 0 ? ":" : "c:");
      int layers = 0;
      for (const auto& st : t) layers += st.impl.rfind(want, 0) == 0;
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
  GraphBuilder b(3, 49, /*oihw8o=*/true);
  std::string x = b.Relu(b.Conv("input", 32));
  const std::string file = b.Build(b.Conv(b.Relu(b.Conv(x, 32)), 1));
  const bool ours = CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
  const int side = 96;
  internal::WinogradConvShape shape;  // the layer, as it runs with the option
  shape.tile = 6, shape.block = CpuIsaName().rfind("avx512", 0) == 0 ? 16 : 8;
  shape.in_c = shape.out_c = 32;
  shape.in_h = shape.in_w = shape.out_h = shape.out_w = side;
  shape.pad_top = shape.pad_left = 1;
  shape.compact = true;
  EXPECT_GT(internal::PlanWinogradConv(shape, 2).blocks, 4);
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
    int layers = 0;
    for (const auto& st : t) layers += st.impl.rfind(want, 0) == 0;
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
  GraphBuilder b(3, 49, /*oihw8o=*/true);
  std::string x = b.Relu(b.Conv("input", 32));
  const std::string file = b.Build(b.Conv(b.Relu(b.Conv(x, 32)), 1));
  const bool ours = CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
  const int side = 96;
  const internal::WinogradBlocking small{16 << 10, 18, 96};
  std::vector<float> in = RandomInput(3, side, side);
  for (const bool compact : {false, true}) {
    internal::WinogradConvShape shape;  // the layer, as it runs
    shape.tile = compact ? 6 : 4, shape.block = CpuIsaName().rfind("avx512", 0) == 0 ? 16 : 8;
    shape.in_c = shape.out_c = 32;
    shape.in_h = shape.in_w = shape.out_h = shape.out_w = side;
    shape.pad_top = shape.pad_left = 1;
    shape.compact = compact;
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
      auto net = Network::Create(file, o);
      ASSERT_TRUE(net.ok()) << net.status().ToString();
      std::vector<StepTiming> t;
      auto got = (*net)->Run(in.data(), side, side, &t);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (ours) {
        const std::string want = compact ? "wino6x3c:" : "wino4x3:";
        int layers = 0;
        for (const auto& st : t) layers += st.impl.rfind(want, 0) == 0;
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

// A linear Resize straight on the network's input (plain NCHW, its address known only while a
// forward runs), alone and before a convolution.
TEST(NetworkTest, AResizeOfTheInputReadsTheInput) {
  GraphBuilder b(3, 21);
  EXPECT_LT(RunBoth(b.Build(b.Resize("input", 2)), 9, 14).max, 1e-5);
  GraphBuilder c(3, 22);
  EXPECT_LT(RunBoth(c.Build(c.Conv(c.Resize("input", 3), 16)), 8, 6).max, 2e-5);
}

TEST(NetworkTest, NoStepRunsOnAReferenceKernel) {
  std::vector<StepTiming> t;
  (void)RunBoth(Rsu(3, 16, 32), 32, 32, {}, &t);
  ASSERT_FALSE(t.empty());
  bool plain_resize = false;
  for (const auto& s : t) {
    EXPECT_EQ(s.impl.rfind("ref", 0), std::string::npos) << s.name;
    plain_resize |= s.impl == "plain_resize";
  }
  EXPECT_TRUE(plain_resize) << "the 1-channel head's Resize ran on oneDNN";
}

TEST(NetworkTest, OddOpsAndLayouts) {
  GraphBuilder b(3, 9);
  std::string x = b.Relu(b.Conv("input", 24, 3, 2));       // stride 2, 24: not whole blocks
  std::string g = b.Conv(b.Conv(x, 32, 1), 32, 3, 1, 1, 1, 4);  // grouped
  std::string n = b.Resize(b.MaxPool(g, 3, 2, false), 3, true);  // floor pool, nearest x3
  std::string s = b.Sigmoid(b.Conv(n, 8, 5, 1, 3));        // 5x5 dilated, standalone sigmoid
  std::string cat = b.Concat({s, b.Conv(n, 8, 1)});        // 8 + 8: a copy, not views
  std::string out = b.Relu(b.Add(b.Conv(cat, 16, 1, 1, 1, 0, 1, false), b.Conv(cat, 16, 1)));
  std::string file = b.Build(out);
  for (auto [h, w] : {std::pair{20, 20}, {33, 17}}) {
    Diff d = RunBoth(file, h, w);
    EXPECT_LT(d.max, 2e-5) << h << "x" << w;
  }
}

TEST(NetworkTest, ConvolutionsWithFewOutputChannelsRunOnTheNarrowKernel) {
  // kernel, stride, dilation, pad, output channels, bias, then what follows the Conv
  struct Case {
    int kernel, stride, dilation, pad, out;
    bool bias;
    std::string after;
  };
  const std::vector<Case> cases = {
      {3, 1, 1, 1, 1, true, ""},         // the U^2-Net head
      {5, 2, 1, 2, 3, true, "Sigmoid"},  // 3 channels, stride 2, a fused sigmoid
      {3, 1, 3, 2, 2, false, "Relu"},    // dilated, less padding than the reach, no bias
      {1, 1, 1, 0, 1, true, ""},         // 1x1
      {3, 2, 2, 0, 5, true, ""},         // no padding at all
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    GraphBuilder b(3, static_cast<uint32_t>(11 + i));
    std::string x = b.Relu(b.Conv("input", 32));  // 32 channels: whole blocks
    std::string y = b.Conv(x, c.out, c.kernel, c.stride, c.dilation, c.pad, 1, c.bias);
    if (c.after == "Sigmoid") y = b.Sigmoid(y);
    if (c.after == "Relu") y = b.Relu(y);
    std::string file = b.Build(y);
    // Wide, narrower than a tile of 8 pixels, odd, and one row.
    for (auto [h, w] : {std::pair{40, 70}, {9, 5}, {33, 17}, {1, 24}}) {
      if (h < (c.kernel - 1) * c.dilation + 1 - 2 * c.pad) continue;
      if (w < (c.kernel - 1) * c.dilation + 1 - 2 * c.pad) continue;
      std::vector<StepTiming> t;
      Diff d = RunBoth(file, h, w, {}, &t);
      EXPECT_LT(d.max, 2e-5) << "case " << i << " at " << h << "x" << w;
      bool narrow = false;
      for (const auto& s : t) narrow |= s.impl.rfind("narrow:", 0) == 0;
      EXPECT_TRUE(narrow) << "case " << i << ": oneDNN ran the narrow convolution";
    }
  }
}

TEST(NetworkTest, Bf16StaysCloseWhereTheCpuHasIt) {
  if (!CpuSupports(Precision::kBf16)) GTEST_SKIP() << "no AVX512-BF16 on " << CpuIsaName();
  NetworkOptions o;
  o.precision = Precision::kBf16;
  Diff d = RunBoth(Rsu(3, 16, 32), 32, 32, o);
  EXPECT_LT(d.max, 0.03);
  EXPECT_LT(d.mean, 0.005);
}

TEST(NetworkTest, Bf16IsRefusedWithoutTheInstructions) {
  if (CpuSupports(Precision::kBf16)) GTEST_SKIP() << "this CPU has bf16";
  NetworkOptions o;
  o.precision = Precision::kBf16;
  auto net = Network::Create(Rsu(3, 16, 32), o);
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), Status::Code::kFailedPrecondition);
}

TEST(NetworkTest, PlansPerSizeAreCachedAndEvicted) {
  NetworkOptions o;
  o.max_cached_plans = 1;
  auto net = Network::Create(Rsu(3, 16, 32), o);
  ASSERT_TRUE(net.ok());
  for (int size : {32, 48, 32, 64, 32}) {
    std::vector<float> x = RandomInput(3, size, size, static_cast<uint32_t>(size));
    auto out = (*net)->Run(x.data(), size, size);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->shape, (Shape{1, 2 * size, 2 * size}));
    EXPECT_LT(Compare(out->data, Reference((*net)->graph(), x, size, size)).max, 2e-5);
  }
  EXPECT_GT((*net)->arena_bytes(), 0u);
  auto bad = (*net)->Run(RandomInput(3, 30, 30).data(), 30, 30);  // 30 -> 15 -> 8 -> 16 != 15
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

TEST(NetworkTest, ParsePrecision) {
  EXPECT_EQ(*ParsePrecision("fp32"), Precision::kFp32);
  EXPECT_EQ(*ParsePrecision("bf16"), Precision::kBf16);
  EXPECT_FALSE(ParsePrecision("int4").ok());
  EXPECT_FALSE(ParsePrecision("").ok());
}

}  // namespace
}  // namespace sparkify::nn
