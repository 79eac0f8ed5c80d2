// Segmenter: image -> soft foreground mask at the image's full resolution; and
// OpenCvSegmenter, which runs an ONNX model described by a "sparkify-model/1" manifest
// (tools/model/README.md) with OpenCV's DNN module.
//
// Thread-safety: Segmenter implementations must make Saliency safe to call from several
// threads. OpenCvSegmenter does: pre- and post-processing run concurrently, the forward pass
// itself is serialised by a mutex, because a cv::dnn::Net is not safe for concurrent forward
// and one forward already uses every core OpenCV is given. For parallel forwards, Load one
// segmenter per worker (each holds its own copy of the weights: ~180 MB for IS-Net).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
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
  // Threads OpenCV may use, set process-wide with cv::setNumThreads at Load (OpenCV has one
  // global thread pool). 0 = std::thread::hardware_concurrency(); -1 = leave OpenCV's setting.
  int num_threads = 0;
};

class OpenCvSegmenter final : public Segmenter {
 public:
  // Reads the manifest at `manifest_path`, reads the model file it names (relative to the
  // manifest's directory) into memory, checks its size and sha256 against the manifest, and
  // builds the network from exactly those bytes, once.
  // Errors: NotFound (manifest or model file missing), InvalidArgument (bad manifest, bad
  // input_size), Corruption (model size or sha256 differs from the manifest), IOError,
  // FailedPrecondition (OpenCV cannot import the graph, or it lacks the manifest's input or
  // output name). Load holds the file's bytes, OpenCV's parsed copy and the weights at once:
  // its peak is about 3.4 times the model file (IS-Net: ~590 MB, ~250 MB resident after).
  static Result<std::unique_ptr<OpenCvSegmenter>> Load(const std::string& manifest_path,
                                                       const SegmenterOptions& options = {});

  ~OpenCvSegmenter() override;
  OpenCvSegmenter(const OpenCvSegmenter&) = delete;
  OpenCvSegmenter& operator=(const OpenCvSegmenter&) = delete;

  // Stretches the image (alpha ignored) to input_size x input_size, normalises it as the
  // manifest says, runs the network, turns the output into a mask as the manifest's output kind
  // says (saliency: min/max normalised), and resizes the mask back to the image's size.
  // Errors: InvalidArgument (empty image, output shape unlike the manifest's kind), Internal
  // (an OpenCV failure, with its message), ResourceExhausted (out of memory). Thread-safe.
  Result<Mask> Saliency(const Image& image) override;

  std::string ModelId() const override;
  const ModelManifest& manifest() const;
  int input_size() const;

 private:
  struct State;
  explicit OpenCvSegmenter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sparkify::vision
