// Test helpers for sparkify_nn: a builder that writes sparkify-graph/1 and /2 files (as
// tools/model/export_graph.py does) with random weights, and a naive reference executor that
// computes every op straight from its definition, to check the engine against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "nn/plan.h"

namespace sparkify::nn::testing {

// Rounds to the nearest fp16 value (so weights stored as fp16 are exact).
inline float RoundToHalf(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  // Keep 10 mantissa bits (round to nearest even); values stay in fp16's normal range here.
  uint32_t lsb = (bits >> 13) & 1;
  bits = (bits + 0x0fff + lsb) & ~0x1fffu;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

inline uint16_t FloatToHalfBits(float x) {  // for values already exact in fp16
  uint32_t b;
  std::memcpy(&b, &x, 4);
  uint32_t sign = (b >> 16) & 0x8000;
  int exp = static_cast<int>((b >> 23) & 0xff) - 127 + 15;
  uint32_t mant = (b >> 13) & 0x3ff;
  if ((b & 0x7fffffff) == 0) return static_cast<uint16_t>(sign);
  if (exp <= 0) return static_cast<uint16_t>(sign);  // flush tiny values (not used)
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | mant);
}

class GraphBuilder {
 public:
  // `oihw8o`: a sparkify-graph/2 file whose 3x3 Conv weights of output channels a multiple
  // of 8 are blocked by 8 output channels (as tools/model/export_graph.py writes them); the
  // weights' values are the same either way.
  explicit GraphBuilder(int input_channels, uint32_t seed = 1, bool oihw8o = false)
      : rng_(seed), oihw8o_(oihw8o) {
    input_channels_ = input_channels;
    channels_["input"] = input_channels;
  }

  // A Conv with random fp16-exact weights; returns the output value's name.
  std::string Conv(const std::string& in, int out_channels, int kernel = 3, int stride = 1,
                   int dilation = 1, int pad = -1, int group = 1, bool bias = true) {
    if (pad < 0) pad = dilation * (kernel - 1) / 2;
    int c = channels_.at(in);
    float scale = 1.5f / std::sqrt(static_cast<float>(c / group * kernel * kernel));
    int w = AddWeight({out_channels, c / group, kernel, kernel}, scale);
    int b = bias ? AddWeight({out_channels}, 0.2f) : -1;
    std::string out = Name("conv");
    nodes_.push_back({{"op", "Conv"},         {"name", out},        {"inputs", {in}},
                      {"output", out},        {"weight", w},        {"bias", b},
                      {"kernel", {kernel, kernel}}, {"strides", {stride, stride}},
                      {"dilations", {dilation, dilation}}, {"pads", {pad, pad, pad, pad}},
                      {"group", group}});
    channels_[out] = out_channels;
    return out;
  }
  std::string Unary(const std::string& op, const std::string& in) {
    std::string out = Name(op);
    nodes_.push_back({{"op", op}, {"name", out}, {"inputs", {in}}, {"output", out}});
    channels_[out] = channels_.at(in);
    return out;
  }
  std::string Relu(const std::string& in) { return Unary("Relu", in); }
  std::string Sigmoid(const std::string& in) { return Unary("Sigmoid", in); }
  std::string MaxPool(const std::string& in, int kernel = 2, int stride = 2, bool ceil = true) {
    std::string out = Name("pool");
    nodes_.push_back({{"op", "MaxPool"}, {"name", out}, {"inputs", {in}}, {"output", out},
                      {"kernel", {kernel, kernel}}, {"strides", {stride, stride}},
                      {"pads", {0, 0, 0, 0}}, {"ceil_mode", ceil ? 1 : 0}});
    channels_[out] = channels_.at(in);
    return out;
  }
  std::string Resize(const std::string& in, int scale = 2, bool nearest = false) {
    std::string out = Name("resize");
    nodes_.push_back({{"op", "Resize"}, {"name", out}, {"inputs", {in}}, {"output", out},
                      {"mode", nearest ? "nearest" : "linear"}, {"scale", scale}});
    channels_[out] = channels_.at(in);
    return out;
  }
  std::string Concat(const std::vector<std::string>& ins) {
    std::string out = Name("concat");
    int c = 0;
    for (const auto& i : ins) c += channels_.at(i);
    nodes_.push_back({{"op", "Concat"}, {"name", out}, {"inputs", ins}, {"output", out}});
    channels_[out] = c;
    return out;
  }
  std::string Add(const std::string& a, const std::string& b) {
    std::string out = Name("add");
    nodes_.push_back({{"op", "Add"}, {"name", out}, {"inputs", {a, b}}, {"output", out}});
    channels_[out] = channels_.at(a);
    return out;
  }

  // The file's bytes, with `output` as the graph output; `edit` may change the JSON header
  // first (to make broken files).
  std::string Build(const std::string& output,
                    const std::function<void(nlohmann::json&)>& edit = {}) const {
    nlohmann::json doc = {{"format", oihw8o_ ? "sparkify-graph/2" : "sparkify-graph/1"},
                          {"input", {{"name", "input"}, {"channels", input_channels_}}},
                          {"output", output},
                          {"weights", weights_},
                          {"nodes", nodes_}};
    if (edit) edit(doc);
    std::string header = doc.dump();
    std::string file = "SPKGRAPH";
    uint32_t version = 1, len = static_cast<uint32_t>(header.size());
    file.append(reinterpret_cast<const char*>(&version), 4);
    file.append(reinterpret_cast<const char*>(&len), 4);
    file += header;
    file.append((64 - file.size() % 64) % 64, '\0');
    file += blob_;
    return file;
  }

 private:
  std::string Name(const std::string& kind) {
    std::string name = kind;
    name += std::to_string(counter_++);
    return name;
  }

  int AddWeight(const std::vector<int64_t>& shape, float scale) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> dist(-scale, scale);
    blob_.append((64 - blob_.size() % 64) % 64, '\0');
    uint64_t offset = blob_.size();
    std::vector<uint16_t> values(static_cast<size_t>(n));  // row-major, the same either way
    for (uint16_t& h : values) h = FloatToHalfBits(RoundToHalf(dist(rng_)));
    // As tools/model/export_graph.py: 3x3 kernels of output channels a multiple of 8.
    const bool blocked =
        oihw8o_ && shape.size() == 4 && shape[0] % 8 == 0 && shape[2] == 3 && shape[3] == 3;
    const size_t per_o = blocked ? static_cast<size_t>(n / shape[0]) : 0;
    for (size_t at = 0; at < values.size(); ++at) {
      size_t from = at;  // blocked: at = ((q I + i) 9 + t) 8 + k, from = (8q + k) I 9 + 9i + t
      if (blocked) {
        const size_t k = at % 8, rest = at / 8, t = rest % 9, qi = rest / 9;
        const size_t in = per_o / 9, q = qi / in, i = qi % in;
        from = (q * 8 + k) * per_o + i * 9 + t;
      }
      blob_.append(reinterpret_cast<const char*>(&values[from]), 2);
    }
    std::string name = "w";
    name += std::to_string(weights_.size());
    weights_.push_back({{"name", name},
                        {"shape", shape},
                        {"dtype", "float16"},
                        {"offset", offset},
                        {"bytes", n * 2}});
    if (blocked) weights_.back()["layout"] = "Oihw8o";
    return static_cast<int>(weights_.size()) - 1;
  }

  std::mt19937 rng_;
  bool oihw8o_ = false;
  int input_channels_;
  int counter_ = 0;
  std::map<std::string, int> channels_;
  nlohmann::json nodes_ = nlohmann::json::array();
  nlohmann::json weights_ = nlohmann::json::array();
  std::string blob_;
};

// Runs the graph naively (plain NCHW fp32, definitions of the ops), returning the output.
// In test_reference.cpp, built optimised in every build type: at -O0 under the sanitizers it
// took nearly all of the engine's tests' time.
std::vector<float> Reference(const Graph& g, const std::vector<float>& input, int h, int w);

inline std::vector<float> RandomInput(int c, int h, int w, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  std::vector<float> x(static_cast<size_t>(c) * h * w);
  for (float& f : x) f = dist(rng);
  return x;
}

}  // namespace sparkify::nn::testing
