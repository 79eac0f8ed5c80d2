// ModelManifest: the "sparkify-model/2" manifest that sits next to a segmentation model (a
// sparkify-graph/2 or /1 file, written by tools/model/export_graph.py) and says how to feed it,
// how to read its output and which precisions it offers (format: tools/model/README.md).
// ParseManifest is a pure function (thread-safe); a ModelManifest is a plain value.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::vision {

struct ModelManifest {
  struct Input {
    std::string name;              // graph input name
    bool rgb = true;               // channel_order: RGB (true) or BGR (false); layout NCHW
    double scale = 1.0 / 255.0;    // value = (pixel * scale - mean[c]) / std[c]
    std::array<double, 3> mean{};  // per channel, in the model's channel order
    std::array<double, 3> std{1.0, 1.0, 1.0};
    int default_size = 0;     // side of the square input by default
    int size_multiple = 1;    // allowed sides are multiples of this
    bool fixed_size = false;  // only default_size works
  };
  enum class OutputKind { kSaliency, kSoftmax, kArgmax };
  struct Output {
    std::string name;  // graph output name
    OutputKind kind = OutputKind::kSaliency;
    bool sigmoid = false;                 // saliency: activation "sigmoid" (else "none")
    bool minmax = false;                  // saliency: normalise "minmax" (else "none")
    std::vector<int> foreground_classes;  // softmax/argmax: class indices of the subject
    int num_classes = 0;                  // softmax: expected channel count; 0 = not checked
  };

  std::string name;    // model id (also part of content-addressed keys)
  std::string file;    // graph file (sparkify-graph/2 or /1), relative to the manifest's dir
  std::string sha256;  // lowercase hex of the model file
  uint64_t size = 0;   // bytes of the model file
  Input input;
  Output output;
  // Precisions the model is offered in ("fp32", "fast", "bf16"): those that passed the quality
  // gate against fp32 (tools/model/README.md). Default: fp32 only.
  std::vector<std::string> precisions{"fp32"};
  std::string licence;  // one line for users
};

// Parses and validates a manifest's JSON text. InvalidArgument naming the field for: bad JSON,
// a format other than "sparkify-model/2" (a /1 manifest names an ONNX file, which this
// engine does not run: the message says to prepare the model again), a missing or mistyped field, a
// file path that is absolute or climbs out with "..", a sha256 that is not 64 hex digits, an
// unsupported layout, dtype, channel order, resize mode, output kind, activation or normalisation,
// a zero std, a default_size that is not a positive multiple of size_multiple, and softmax/argmax
// without foreground classes (or with one outside num_classes), and precisions that are not a
// non-empty list of "fp32"/"fast"/"bf16" containing "fp32".
Result<ModelManifest> ParseManifest(std::string_view json_text);

// Largest input side accepted (a 4096 input is already 200 MB of float activations per
// feature map at full resolution).
inline constexpr int kMaxInputSize = 4096;

// OK when `size` may be used as the model's input side: positive, at most kMaxInputSize, a
// multiple of size_multiple, and equal to default_size when the model has a fixed size.
// InvalidArgument otherwise.
Status CheckInputSize(const ModelManifest& manifest, int size);

// OK when the manifest offers `precision` ("fp32", "fast", "bf16"); InvalidArgument naming what
// it offers otherwise.
Status CheckPrecision(const ModelManifest& manifest, const std::string& precision);

// Reads and parses the manifest file at `path`: NotFound (a missing file) or IOError naming
// the path, or ParseManifest's errors.
Result<ModelManifest> LoadManifest(const std::string& path);

// The model file a manifest at `manifest_path` names (its `file`, beside the manifest).
std::string ModelFilePath(const std::string& manifest_path, const ModelManifest& manifest);

}  // namespace sparkify::vision
