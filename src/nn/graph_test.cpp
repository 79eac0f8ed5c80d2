#include "nn/graph.h"

#include <gtest/gtest.h>

#include "nn/test_util.h"

namespace sparkify::nn {
namespace {

using json = nlohmann::json;
using testing::GraphBuilder;

std::string SmallGraph(const std::function<void(json&)>& edit = {}) {
  GraphBuilder b(3);
  std::string x = b.Relu(b.Conv("input", 16));
  std::string y = b.Conv(x, 16, 1);
  return b.Build(b.Add(x, y), edit);
}

TEST(GraphTest, ParsesWhatTheBuilderWrites) {
  std::string file = SmallGraph();
  auto g = ParseGraph(file);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->input_channels, 3);
  ASSERT_EQ(g->nodes.size(), 4u);
  EXPECT_EQ(g->nodes[0].op, Op::kConv);
  EXPECT_EQ(g->nodes[0].inputs, std::vector<int>{0});
  EXPECT_EQ(g->nodes[0].kernel, (std::array<int, 2>{3, 3}));
  EXPECT_EQ(g->nodes[0].pads, (std::array<int, 4>{1, 1, 1, 1}));
  EXPECT_EQ(g->nodes[3].op, Op::kAdd);
  EXPECT_EQ(g->output, g->nodes[3].output);
  EXPECT_EQ(g->ConvOutputChannels(g->nodes[2]), 16);
  EXPECT_EQ(g->weights[0].shape, (std::vector<int64_t>{16, 3, 3, 3}));
  EXPECT_TRUE(g->weights[0].fp16);
}

TEST(GraphTest, CopyWeightConvertsHalvesExactly) {
  GraphBuilder b(1);
  std::string out = b.Conv("input", 1, 1, 1, 1, 0, 1, false);
  std::string file = b.Build(out, [](json& doc) {
    doc["weights"][0]["shape"] = {1, 1, 1, 1};
  });
  // Overwrite the weight with known halves: 1.0 (0x3c00), -2.5 (0xc100) in two files.
  for (auto [bits, want] : {std::pair<uint16_t, float>{0x3c00, 1.f}, {0xc100, -2.5f},
                            {0x0001, 5.9604645e-8f}, {0x7bff, 65504.f}}) {
    auto g = ParseGraph(file);
    ASSERT_TRUE(g.ok());
    std::string patched = file;
    size_t at = file.size() - g->blob.size() + g->weights[0].offset;
    std::memcpy(patched.data() + at, &bits, 2);
    auto p = ParseGraph(patched);
    float got = 0;
    p->CopyWeight(0, &got);
    EXPECT_EQ(got, want) << std::hex << bits;
  }
}

// A sparkify-graph/2 file may store 4-D weights of output channels a multiple of 8 blocked
// by 8 output channels ([O/8][I][kh][kw][8], "Oihw8o"); CopyWeight gives them row-major, as
// a plain file's, and WeightData the bytes as stored.
TEST(GraphTest, BlockedWeightsCopyOutRowMajor) {
  auto build = [](bool oihw8o) {
    GraphBuilder b(3, 7, oihw8o);
    std::string x = b.Relu(b.Conv("input", 16));   // 16 x 3 x 3 x 3: blocked
    std::string y = b.Conv(x, 24, 3, 1, 2, 2, 1);  // 24 x 16 x 3 x 3, dilated: blocked
    std::string z = b.Conv(y, 12);                 // 12 output channels: plain
    return b.Build(b.Conv(z, 8, 1));               // 1x1: plain
  };
  const std::string plain_file = build(false), blocked_file = build(true);  // the graphs view them
  auto plain = ParseGraph(plain_file);
  auto blocked = ParseGraph(blocked_file);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(blocked.ok()) << blocked.status().ToString();
  ASSERT_EQ(plain->weights.size(), blocked->weights.size());
  int blocked_weights = 0;
  for (size_t id = 0; id < plain->weights.size(); ++id) {
    const WeightInfo& w = blocked->weights[id];
    const bool want = w.shape.size() == 4 && w.shape[0] % 8 == 0 && w.shape[2] == 3;
    EXPECT_EQ(w.layout, want ? WeightLayout::kOihw8o : WeightLayout::kPlain) << id;
    EXPECT_EQ(plain->weights[id].layout, WeightLayout::kPlain) << id;
    blocked_weights += want;
    const size_t n = static_cast<size_t>(w.elements());
    std::vector<float> a(n), b(n);
    plain->CopyWeight(static_cast<int>(id), a.data());
    blocked->CopyWeight(static_cast<int>(id), b.data());
    EXPECT_EQ(a, b) << id;
    const bool same = std::memcmp(plain->WeightData(static_cast<int>(id)),
                                  blocked->WeightData(static_cast<int>(id)), w.bytes) == 0;
    EXPECT_EQ(same, !want) << id;
  }
  EXPECT_EQ(blocked_weights, 2);
  // Element (o, i, y, x) of the 24 x 16 weight lies at ((o / 8 * 16 + i) * 9 + 3y + x) * 8 +
  // o % 8 halves.
  const WeightInfo& w = blocked->weights[2];
  ASSERT_EQ(w.shape, (std::vector<int64_t>{24, 16, 3, 3}));
  std::vector<float> row_major(static_cast<size_t>(w.elements()));
  blocked->CopyWeight(2, row_major.data());
  const int o = 13, i = 5, y = 2, x = 1;
  uint16_t h;
  std::memcpy(&h, blocked->WeightData(2) + 2 * (((o / 8 * 16 + i) * 9 + 3 * y + x) * 8 + o % 8), 2);
  float stored = 0;
  Graph one;  // decode that half through CopyWeight of a 1-element plain weight
  std::string bytes(reinterpret_cast<const char*>(&h), 2);
  one.blob = bytes;
  one.weights.push_back({"h", {1}, true, WeightLayout::kPlain, 0, 2});
  one.CopyWeight(0, &stored);
  EXPECT_EQ(row_major[static_cast<size_t>(((o * 16 + i) * 3 + y) * 3 + x)], stored);

  // fp32 weights blocked alike: 16 x 2 x 3 x 3, element (o, i, t) stored as the value
  // 1000 o + 10 i + t.
  std::vector<float> blocked_fp32(16 * 2 * 9);
  for (int oo = 0; oo < 16; ++oo) {
    for (int ii = 0; ii < 2; ++ii) {
      for (int t = 0; t < 9; ++t) {
        blocked_fp32[static_cast<size_t>(((oo / 8 * 2 + ii) * 9 + t) * 8 + oo % 8)] =
            static_cast<float>(1000 * oo + 10 * ii + t);
      }
    }
  }
  Graph f32;
  const std::string f32_bytes(reinterpret_cast<const char*>(blocked_fp32.data()),
                              blocked_fp32.size() * sizeof(float));
  f32.blob = f32_bytes;
  f32.weights.push_back({"w", {16, 2, 3, 3}, false, WeightLayout::kOihw8o, 0, f32_bytes.size()});
  std::vector<float> out(blocked_fp32.size());
  f32.CopyWeight(0, out.data());
  for (size_t k = 0; k < out.size(); ++k) {
    ASSERT_EQ(out[k], static_cast<float>(1000 * (k / 18) + 10 * (k / 9 % 2) + k % 9)) << k;
  }
}

TEST(GraphTest, RefusesBrokenFiles) {
  std::string good = SmallGraph();
  struct Case {
    const char* what;
    std::string file;
    const char* message;
  };
  std::string truncated_header = good.substr(0, 40);
  std::string bad_version = good;
  bad_version[8] = 2;
  std::vector<Case> cases = {
      {"empty", "", "SPKGRAPH"},
      {"wrong magic", "NOTGRAPH" + good.substr(8), "SPKGRAPH"},
      {"version 2", bad_version, "version 2"},
      {"header cut", truncated_header, "truncated"},
      {"blob cut", good.substr(0, good.size() - 10), "outside the weights blob"},
      {"format", SmallGraph([](json& d) { d["format"] = "other/1"; }), "format"},
      {"unknown op", SmallGraph([](json& d) { d["nodes"][1]["op"] = "Softmax"; }), "Softmax"},
      {"undefined input", SmallGraph([](json& d) { d["nodes"][1]["inputs"] = {"nowhere"}; }),
       "not defined"},
      {"produced twice",
       SmallGraph([](json& d) { d["nodes"][1]["output"] = d["nodes"][0]["output"]; }),
       "produced twice"},
      {"weights vs channels", SmallGraph([](json& d) {
         d["weights"][0]["shape"] = {16, 4, 3, 3};
         d["weights"][0]["bytes"] = 16 * 4 * 9 * 2;
       }),
       "do not fit"},
      {"bytes vs shape", SmallGraph([](json& d) { d["weights"][0]["bytes"] = 10; }), "bytes"},
      {"offset outside", SmallGraph([](json& d) { d["weights"][1]["offset"] = 1 << 30; }),
       "outside"},
      {"bias", SmallGraph([](json& d) { d["nodes"][0]["bias"] = 0; }), "bias"},
      {"kernel range", SmallGraph([](json& d) {
         d["nodes"][0]["strides"] = {0, 1};
       }),
       "outside"},
      {"add arity", SmallGraph([](json& d) { d["nodes"][3]["inputs"].erase(1); }), "two"},
      {"no output", SmallGraph([](json& d) { d["output"] = "nothing"; }), "output"},
      {"not json", SmallGraph([](json& d) { d = json::array(); }), "not a JSON object"},
      {"dtype", SmallGraph([](json& d) { d["weights"][0]["dtype"] = "int8"; }), "dtype"},
      {"layout in /1", SmallGraph([](json& d) { d["weights"][0]["layout"] = "Oihw8o"; }),
       "needs sparkify-graph/2"},
      {"unknown layout", SmallGraph([](json& d) {
         d["format"] = "sparkify-graph/2";
         d["weights"][0]["layout"] = "OIhw16i16o";
       }),
       "unknown layout"},
      {"layout of a bias", SmallGraph([](json& d) {
         d["format"] = "sparkify-graph/2";
         d["weights"][1]["layout"] = "Oihw8o";
       }),
       "4 dimensions"},
      {"layout of 12 channels", SmallGraph([](json& d) {
         d["format"] = "sparkify-graph/2";
         d["weights"][0]["shape"] = {12, 3, 3, 3};
         d["weights"][0]["bytes"] = 12 * 3 * 9 * 2;
         d["weights"][0]["layout"] = "Oihw8o";
       }),
       "multiple of 8"},
      {"format /3", SmallGraph([](json& d) { d["format"] = "sparkify-graph/3"; }), "/3"},
  };
  for (const Case& c : cases) {
    auto g = ParseGraph(c.file);
    ASSERT_FALSE(g.ok()) << c.what;
    EXPECT_EQ(g.status().code(), Status::Code::kCorruption) << c.what;
    EXPECT_NE(g.status().message().find(c.message), std::string::npos)
        << c.what << ": " << g.status().message();
  }
}

}  // namespace
}  // namespace sparkify::nn
