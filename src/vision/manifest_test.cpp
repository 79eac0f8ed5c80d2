// ParseManifest, LoadManifest, CheckInputSize and CheckPrecision: the default model's manifest, the
// README's examples, and a table of broken manifests, each with the field its error must name.
#include "vision/manifest.h"

#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sparkify::vision {
namespace {

using nlohmann::json;

json IsnetManifest() {
  return json::parse(R"({
    "format": "sparkify-model/2", "name": "isnet-general-medium", "file": "model.sgraph",
    "sha256": "c379502484df4008322fe0572bf3c9d8f8c221ca511415b3ad0c694dc46919ca",
    "size": 176118791,
    "input": {"name": "input", "layout": "NCHW", "channel_order": "RGB", "dtype": "float32",
              "scale": 0.00392156862745098, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
              "default_size": 1024, "size_multiple": 64, "fixed_size": false,
              "resize": "stretch"},
    "output": {"name": "output", "kind": "saliency", "activation": "none",
               "normalise": "minmax"},
    "precisions": ["fp32", "fast", "bf16"], "reference_onnx": "model.onnx",
    "licence": "AGPL-3.0", "licence_files": ["LICENSE.md"]})");
}

json DeeplabManifest() {
  json m = IsnetManifest();
  m["input"]["channel_order"] = "BGR";
  m["input"]["default_size"] = 520;
  m["input"]["size_multiple"] = 1;
  m["input"]["fixed_size"] = true;
  m["output"] = json::parse(R"({"name": "out", "kind": "softmax", "num_classes": 21,
                                "foreground_classes": [3, 8, 10, 12, 13, 15, 17]})");
  return m;
}

TEST(ManifestTest, ParsesTheDefaultModelsManifest) {
  Result<ModelManifest> m = ParseManifest(IsnetManifest().dump());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "isnet-general-medium");
  EXPECT_EQ(m->file, "model.sgraph");
  EXPECT_EQ(m->precisions, (std::vector<std::string>{"fp32", "fast", "bf16"}));
  EXPECT_EQ(m->size, 176118791u);
  EXPECT_TRUE(m->input.rgb);
  EXPECT_DOUBLE_EQ(m->input.scale, 1.0 / 255.0);
  EXPECT_DOUBLE_EQ(m->input.mean[1], 0.5);
  EXPECT_EQ(m->input.default_size, 1024);
  EXPECT_EQ(m->input.size_multiple, 64);
  EXPECT_FALSE(m->input.fixed_size);
  EXPECT_EQ(m->output.kind, ModelManifest::OutputKind::kSaliency);
  EXPECT_FALSE(m->output.sigmoid);
  EXPECT_TRUE(m->output.minmax);
  EXPECT_EQ(m->licence, "AGPL-3.0");
}

TEST(ManifestTest, ParsesASemanticSegmentationManifest) {
  Result<ModelManifest> m = ParseManifest(DeeplabManifest().dump());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->input.rgb);
  EXPECT_EQ(m->output.kind, ModelManifest::OutputKind::kSoftmax);
  EXPECT_EQ(m->output.num_classes, 21);
  EXPECT_EQ(m->output.foreground_classes, (std::vector<int>{3, 8, 10, 12, 13, 15, 17}));
}

struct BrokenCase {
  const char* name;
  std::function<void(json&)> edit;
  const char* message;  // expected in the error
};

TEST(ManifestTest, RefusesBrokenManifestsNamingTheField) {
  const BrokenCase cases[] = {
      {"format", [](json& m) { m["format"] = "sparkify-model/3"; }, "format"},
      {"format_1", [](json& m) { m["format"] = "sparkify-model/1"; }, "prepare the model again"},
      {"precisions_empty", [](json& m) { m["precisions"] = json::array(); }, "precisions"},
      {"precisions_int8", [](json& m) { m["precisions"] = {"fp32", "int8"}; }, "precisions"},
      {"precisions_cased", [](json& m) { m["precisions"] = {"fp32", "Fast"}; }, "precisions"},
      {"precisions_no_fp32", [](json& m) { m["precisions"] = {"bf16"}; }, "fp32"},
      {"no_name", [](json& m) { m.erase("name"); }, "name is missing"},
      {"name_number", [](json& m) { m["name"] = 3; }, "name must be a non-empty string"},
      {"absolute_file", [](json& m) { m["file"] = "/etc/passwd"; }, "file must be a path"},
      {"climbing_file", [](json& m) { m["file"] = "../x/model.onnx"; }, "file must be a path"},
      {"climbing_inner", [](json& m) { m["file"] = "a/../../b"; }, "file must be a path"},
      {"short_sha", [](json& m) { m["sha256"] = "abc"; }, "sha256"},
      {"upper_sha", [](json& m) { m["sha256"] = std::string(64, 'A'); }, "sha256"},
      {"zero_size", [](json& m) { m["size"] = 0; }, "size"},
      {"negative_size", [](json& m) { m["size"] = -5; }, "size"},
      {"no_input", [](json& m) { m.erase("input"); }, "input is missing"},
      {"layout", [](json& m) { m["input"]["layout"] = "NHWC"; }, "input.layout"},
      {"dtype", [](json& m) { m["input"]["dtype"] = "float16"; }, "input.dtype"},
      {"resize", [](json& m) { m["input"]["resize"] = "letterbox"; }, "input.resize"},
      {"order", [](json& m) { m["input"]["channel_order"] = "GBR"; }, "input.channel_order"},
      {"scale", [](json& m) { m["input"]["scale"] = "1/255"; }, "input.scale"},
      {"mean_len",
       [](json& m) {
         m["input"]["mean"] = {0.5, 0.5};
       },
       "input.mean"},
      {"std_zero",
       [](json& m) {
         m["input"]["std"] = {1, 0, 1};
       },
       "input.std"},
      {"size_zero", [](json& m) { m["input"]["default_size"] = 0; }, "input.default_size"},
      {"size_float", [](json& m) { m["input"]["default_size"] = 1024.5; }, "input.default_size"},
      {"not_multiple", [](json& m) { m["input"]["default_size"] = 1000; }, "input.default_size"},
      {"fixed", [](json& m) { m["input"]["fixed_size"] = "no"; }, "input.fixed_size"},
      {"kind", [](json& m) { m["output"]["kind"] = "boxes"; }, "output.kind"},
      {"activation", [](json& m) { m["output"]["activation"] = "tanh"; }, "output.activation"},
      {"normalise", [](json& m) { m["output"]["normalise"] = "z"; }, "output.normalise"},
      {"no_classes",
       [](json& m) { m["output"] = json::parse(R"({"name": "o", "kind": "argmax"})"); },
       "output.foreground_classes is missing"},
      {"empty_classes",
       [](json& m) {
         m["output"] = json::parse(R"({"name":"o","kind":"softmax","foreground_classes":[]})");
       },
       "output.foreground_classes"},
      {"class_out_of_range",
       [](json& m) {
         m["output"] = json::parse(
             R"({"name":"o","kind":"softmax","num_classes":21,"foreground_classes":[21]})");
       },
       "output.foreground_classes"},
      {"negative_class",
       [](json& m) {
         m["output"] = json::parse(R"({"name":"o","kind":"argmax","foreground_classes":[-1]})");
       },
       "output.foreground_classes"},
  };
  for (const BrokenCase& c : cases) {
    SCOPED_TRACE(c.name);
    json m = IsnetManifest();
    c.edit(m);
    Result<ModelManifest> r = ParseManifest(m.dump());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
}

TEST(ManifestTest, RefusesNonJson) {
  for (const char* text : {"", "{", "[1, 2]", "null", "\"manifest\""}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseManifest(text).ok());
  }
}

TEST(ManifestTest, CheckInputSize) {
  Result<ModelManifest> isnet = ParseManifest(IsnetManifest().dump());
  ASSERT_TRUE(isnet.ok());
  for (int ok : {64, 512, 768, 1024, 1280, kMaxInputSize}) {
    EXPECT_TRUE(CheckInputSize(*isnet, ok).ok()) << ok;
  }
  for (int bad : {0, -64, 100, 1000, 63, kMaxInputSize + 64}) {
    Status s = CheckInputSize(*isnet, bad);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("multiple of 64"), std::string::npos) << s.message();
  }
  Result<ModelManifest> fixed = ParseManifest(DeeplabManifest().dump());
  ASSERT_TRUE(fixed.ok());
  EXPECT_TRUE(CheckInputSize(*fixed, 520).ok());
  EXPECT_NE(CheckInputSize(*fixed, 512).message().find("only runs at 520"), std::string::npos);
}

TEST(ManifestTest, CheckPrecisionSaysWhatIsOffered) {
  json m = IsnetManifest();
  m["precisions"] = json::array({"fp32"});
  Result<ModelManifest> fp32_only = ParseManifest(m.dump());
  ASSERT_TRUE(fp32_only.ok());
  EXPECT_TRUE(CheckPrecision(*fp32_only, "fp32").ok());
  Status s = CheckPrecision(*fp32_only, "bf16");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("offers fp32"), std::string::npos) << s.message();
  Result<ModelManifest> both = ParseManifest(IsnetManifest().dump());
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(CheckPrecision(*both, "bf16").ok());
}

TEST(ManifestTest, LoadManifestReadsAFileAndNamesItOnError) {
  const std::string dir = ::testing::TempDir() + "manifest_load_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/manifest.json";
  std::ofstream(path) << IsnetManifest().dump();
  Result<ModelManifest> m = LoadManifest(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "isnet-general-medium");
  EXPECT_EQ(ModelFilePath(path, *m), dir + "/model.sgraph");
  EXPECT_EQ(ModelFilePath("manifest.json", *m), "./model.sgraph");
  Result<ModelManifest> missing = LoadManifest(dir + "/nope.json");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find(dir + "/nope.json"), std::string::npos);
  std::ofstream(path) << "{";
  EXPECT_EQ(LoadManifest(path).status().code(), Status::Code::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sparkify::vision
