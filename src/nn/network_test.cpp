#include "nn/network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "nn/internal/compile.h"
#include "nn/internal/winograd_conv.h"
#include "nn/network_test_util.h"
#include "nn/test_util.h"

namespace sparkify::nn {
namespace {

using testing::Compare;
using testing::CountSteps;
using testing::Diff;
using testing::GraphBuilder;
using testing::OwnWinogradCpu;
using testing::RandomInput;
using testing::Reference;
using testing::RunBoth;

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
  if (OwnWinogradCpu()) {
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
  if (!OwnWinogradCpu()) {
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
  if (OwnWinogradCpu()) {
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
        if (OwnWinogradCpu()) {
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
      if (OwnWinogradCpu()) {
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
  const bool ours = OwnWinogradCpu();
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
  EXPECT_EQ(*ParsePrecision("fast"), Precision::kFast);
  for (Precision p : {Precision::kFp32, Precision::kFast, Precision::kBf16}) {
    EXPECT_EQ(*ParsePrecision(PrecisionName(p)), p);
  }
  EXPECT_TRUE(CpuSupports(Precision::kFast));
  EXPECT_FALSE(ParsePrecision("int4").ok());
  EXPECT_FALSE(ParsePrecision("").ok());
}

}  // namespace
}  // namespace sparkify::nn
