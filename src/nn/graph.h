// Graph: a segmentation network in Sparkify's own format ("sparkify-graph/2", written by
// tools/model/export_graph.py; "/1" is the same without weight layouts): the ops of
// U^2-Net-family models with their attributes, and the weights (fp16 where exact, else fp32)
// in one blob, row-major or (3x3 Conv weights) blocked by 8 output channels, which the
// engine's compact Winograd layers read in place.
//
// ParseGraph is pure and checks everything a runtime relies on (every weight inside the blob
// and of the size its shape says, every node's inputs defined before it, attributes in range,
// Conv weights shaped [K, C/group, kh, kw]); a file that passes cannot make the engine read
// out of bounds. A Graph is a value; it views the file's bytes, which must outlive it.
// Thread-safe: no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::nn {

enum class Op { kConv, kRelu, kSigmoid, kMaxPool, kResize, kConcat, kAdd };
std::string_view OpName(Op op);

// How a weight's values lie in the blob.
enum class WeightLayout {
  kPlain,   // row-major in its shape (for a Conv weight: oihw)
  kOihw8o,  // a 4-D weight blocked by 8 output channels: [O / 8][I][kh][kw][8] (format /2)
};
// The name the format gives `layout` ("oihw", "Oihw8o": oneDNN's names).
std::string_view WeightLayoutName(WeightLayout layout);

struct WeightInfo {
  std::string name;
  std::vector<int64_t> shape;
  bool fp16 = true;     // else fp32; little-endian either way
  WeightLayout layout = WeightLayout::kPlain;
  uint64_t offset = 0;  // into Graph::blob
  uint64_t bytes = 0;
  int64_t elements() const;
};

struct Node {
  Op op = Op::kRelu;
  std::string name;
  std::vector<int> inputs;  // value ids; value 0 is the graph input
  int output = -1;          // value id, produced by this node only
  // Conv: weight and bias (-1: none) are indices into Graph::weights. MaxPool uses kernel,
  // strides, pads and ceil_mode. pads are {top, left, bottom, right}.
  int weight = -1;
  int bias = -1;
  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> strides{1, 1};
  std::array<int, 2> dilations{1, 1};
  std::array<int, 4> pads{0, 0, 0, 0};
  int group = 1;
  bool ceil_mode = false;
  // Resize: integer upscaling of H and W; linear with half-pixel centres, or nearest (floor).
  int scale = 1;
  bool nearest = false;
};

struct Graph {
  std::string input_name;
  int input_channels = 0;
  std::vector<std::string> values;  // value names; id = index, 0 = the input
  int output = -1;                  // value id of the graph output
  std::vector<WeightInfo> weights;
  std::vector<Node> nodes;  // topological: a node's inputs are produced by earlier nodes
  std::string_view blob;    // the weights; views the parsed file

  // Weight `id` as fp32, row-major in its shape (whatever its layout in the blob).
  // REQUIRES: out holds elements().
  void CopyWeight(int id, float* out) const;
  // Weight `id`'s bytes as they lie in the blob (in its `layout`); they live as the file.
  const char* WeightData(int id) const {
    return blob.data() + weights[static_cast<size_t>(id)].offset;
  }
  // Output channels of a Conv node (its weight's first dimension).
  int ConvOutputChannels(const Node& conv) const {
    return static_cast<int>(weights[conv.weight].shape[0]);
  }
};

// Largest accepted attribute values: far beyond what the supported models use.
inline constexpr int kMaxKernel = 15;
inline constexpr int kMaxStride = 8;
inline constexpr int kMaxDilation = 64;
inline constexpr int kMaxPad = 64;
inline constexpr int kMaxScale = 16;

// Parses a sparkify-graph/1 or /2 file. Corruption (with what is wrong) for a file that is not one,
// is truncated, or whose JSON, weights or nodes break the rules above.
Result<Graph> ParseGraph(std::string_view file);

}  // namespace sparkify::nn
