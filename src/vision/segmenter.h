// Segmenter: image -> soft foreground mask at the image's full resolution; and
// GraphSegmenter, which runs a model described by a "sparkify-model/2" manifest
// (tools/model/README.md) with Sparkify's engine (nn/network.h, on oneDNN).
//
// Thread-safety: Segmenter implementations must make Saliency safe to call from several
// threads. GraphSegmenter does: pre- and post-processing run concurrently, the forward pass
// itself is serialised by the engine, since one forward already uses every core it is given.
// For parallel forwards, run one process per worker (each holds its own weights).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "nn/network.h"
#include "vision/image.h"
#include "vision/manifest.h"

namespace sparkify::vision {

class Segmenter {
 public:
  virtual ~Segmenter() = default;

  // The subject mask of `image`: CV_32FC1 in 0..1 with the image's width and height (the
  // whole image is segmented, never a crop). Errors as values; never throws.
  virtual Result<Mask> Saliency(const Image& image) = 0;

  // Names the model and everything that changes its masks (e.g. "isnet-general-medium-fp32@1024"),
  // so callers can use it in content-addressed keys.
  virtual std::string ModelId() const = 0;
};

struct SegmenterOptions {
  // Side of the square model input. 0 = the manifest's default_size (1024 for IS-Net, the size
  // it was trained at; smaller sizes are faster but give visibly different masks).
  // Otherwise a multiple of the manifest's size_multiple (64 for IS-Net) up to kMaxInputSize,
  // and equal to default_size for a fixed-size model; anything else fails Load.
  int input_size = 0;
  // Threads for the engine (process-wide: oneDNN's OpenMP pool). 0 = the CPUs we may use.
  int num_threads = 0;
  // Arithmetic: "fp32" (default) or another precision the manifest lists ("fast", "bf16").
  std::string precision = "fp32";
  // Winograd for the 3x3 layers where it pays (fp32). false: direct convolution only, the
  // reference that the other modes are held to (tools/model/README.md, "Quality gate").
  bool winograd = true;
  // Winograd on our own kernel (nn::NetworkOptions::own_winograd); false: oneDNN's.
  bool own_winograd = true;
  // F(6x6, 3x3) on the largest maps and on the compact layers where it pays
  // (nn::NetworkOptions::winograd_f6_share, winograd_compact_f6); false: F(4x4).
  bool winograd_f6 = true;
  // Deep Winograd layers keep fp16 3x3 weights (nn::NetworkOptions::winograd_compact).
  bool winograd_compact = true;
  // The engine's large buffers in transparent huge pages (nn::NetworkOptions::huge_pages).
  bool huge_pages = true;
};

class GraphSegmenter final : public Segmenter {
 public:
  // Reads the manifest at `manifest_path`, reads the graph file it names (relative to the
  // manifest's directory), checks its size and sha256 against the manifest, and builds the
  // engine (nn::Network) from exactly those bytes, once; then plans the default input size.
  // Errors: NotFound (manifest or graph file missing), InvalidArgument (bad manifest, bad
  // input_size, a precision the manifest does not offer), Corruption (graph size or sha256
  // differs from the manifest, or a malformed graph), FailedPrecondition (the graph's input
  // or output is not the manifest's, or the CPU lacks the precision's instructions), IOError.
  static Result<std::unique_ptr<GraphSegmenter>> Load(const std::string& manifest_path,
                                                      const SegmenterOptions& options = {});

  ~GraphSegmenter() override;
  GraphSegmenter(const GraphSegmenter&) = delete;
  GraphSegmenter& operator=(const GraphSegmenter&) = delete;

  // The same model at another input side, sharing this one's engine (weights and per-size
  // plans): cheap. InvalidArgument when the model does not accept that size.
  Result<std::unique_ptr<GraphSegmenter>> WithInputSize(int size) const;

  // Stretches the image (alpha ignored) to input_size x input_size, normalises it as the
  // manifest says, runs the network, turns the output into a mask as the manifest's output kind
  // says (saliency: min/max normalised), and resizes the mask back to the image's size.
  // Errors: InvalidArgument (empty image, output shape unlike the manifest's kind), Internal
  // (an engine failure, with its message), ResourceExhausted (out of memory). Thread-safe.
  Result<Mask> Saliency(const Image& image) override;

  // "<name>-<precision>@<size>", e.g. "isnet-general-medium-fp32@1024".
  std::string ModelId() const override;
  const ModelManifest& manifest() const;
  int input_size() const;
  const std::string& precision() const;
  // The engine behind it (shared by every input size), for tools and benchmarks that time
  // the forward pass on its own.
  nn::Network& network() const;

 private:
  struct Shared;
  GraphSegmenter(std::shared_ptr<Shared> shared, int input_size);
  std::shared_ptr<Shared> shared_;
  int input_size_;
};

}  // namespace sparkify::vision
