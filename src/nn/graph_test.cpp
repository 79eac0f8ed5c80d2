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
      {"undefined input",
       SmallGraph([](json& d) { d["nodes"][1]["inputs"] = {"nowhere"}; }), "not defined"},
      {"produced twice",
       SmallGraph([](json& d) { d["nodes"][1]["output"] = d["nodes"][0]["output"]; }),
       "produced twice"},
      {"weights vs channels",
       SmallGraph([](json& d) { d["weights"][0]["shape"] = {16, 4, 3, 3};
                                d["weights"][0]["bytes"] = 16 * 4 * 9 * 2; }),
       "do not fit"},
      {"bytes vs shape", SmallGraph([](json& d) { d["weights"][0]["bytes"] = 10; }), "bytes"},
      {"offset outside", SmallGraph([](json& d) { d["weights"][1]["offset"] = 1 << 30; }),
       "outside"},
      {"bias", SmallGraph([](json& d) { d["nodes"][0]["bias"] = 0; }), "bias"},
      {"kernel range", SmallGraph([](json& d) { d["nodes"][0]["strides"] = {0, 1}; }),
       "outside"},
      {"add arity", SmallGraph([](json& d) { d["nodes"][3]["inputs"].erase(1); }), "two"},
      {"no output", SmallGraph([](json& d) { d["output"] = "nothing"; }), "output"},
      {"not json", SmallGraph([](json& d) { d = json::array(); }), "not a JSON object"},
      {"dtype", SmallGraph([](json& d) { d["weights"][0]["dtype"] = "int8"; }), "dtype"},
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
