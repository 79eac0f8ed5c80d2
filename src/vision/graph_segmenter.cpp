// GraphSegmenter: manifest + verified graph bytes -> one nn::Network shared by every input
// size (the engine keeps a plan per size and one copy of the weights per layout).
#include <algorithm>
#include <limits>
#include <new>

#include <opencv2/core.hpp>

#include "common/crypto.h"
#include "common/files.h"
#include "nn/network.h"
#include "vision/model_io.h"
#include "vision/segmenter.h"

namespace sparkify::vision {

struct GraphSegmenter::Shared {
  ModelManifest manifest;
  std::string precision;
  std::unique_ptr<nn::Network> network;  // thread-safe
};

namespace {

Status CheckNames(const nn::Graph& g, const ModelManifest& m) {
  if (g.input_name != m.input.name) {
    return Status::FailedPrecondition("model " + m.name + " has no input named \"" +
                                      m.input.name + "\" (its input: " + g.input_name + ")");
  }
  if (g.values[static_cast<size_t>(g.output)] != m.output.name) {
    return Status::FailedPrecondition("model " + m.name + " has no output named \"" +
                                      m.output.name + "\" (its output: " +
                                      g.values[static_cast<size_t>(g.output)] + ")");
  }
  if (g.input_channels != 3) {
    return Status::FailedPrecondition("model " + m.name + " takes " +
                                      std::to_string(g.input_channels) +
                                      " input channels; images have 3");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<GraphSegmenter>> GraphSegmenter::Load(const std::string& manifest_path,
                                                             const SegmenterOptions& options) {
  auto shared = std::make_shared<Shared>();
  SPARKIFY_ASSIGN_OR_RETURN(shared->manifest, LoadManifest(manifest_path));
  const ModelManifest& m = shared->manifest;
  const int input_size = options.input_size == 0 ? m.input.default_size : options.input_size;
  SPARKIFY_RETURN_IF_ERROR(CheckInputSize(m, input_size));
  shared->precision = options.precision.empty() ? "fp32" : options.precision;
  SPARKIFY_RETURN_IF_ERROR(CheckPrecision(m, shared->precision));
  SPARKIFY_ASSIGN_OR_RETURN(nn::Precision precision, nn::ParsePrecision(shared->precision));

  const std::string model_path = ModelFilePath(manifest_path, m);
  try {
    auto file = MappedFile::Open(model_path, m.size);
    if (!file.ok()) {
      const Status& s = file.status();
      if (s.IsNotFound()) return Status::NotFound("model file missing: " + model_path);
      if (s.code() == Status::Code::kCorruption) {
        return Status::Corruption("model file " + s.message() + "; its manifest says " +
                                  std::to_string(m.size) + " (re-run tools/model/prepare-model.sh)");
      }
      return s;
    }
    std::shared_ptr<const MappedFile> mapped(std::move(*file));
    if (Sha256Hex(mapped->data()) != m.sha256) {
      return Status::Corruption("model file " + model_path +
                                " does not match the sha256 in its manifest (re-run "
                                "tools/model/prepare-model.sh)");
    }
    // The network reads the file's pages again: for each new plan, and (compact layers'
    // weights, in a sparkify-graph/2 file) at every forward. A private mapping still shows
    // the file's own later changes, so the model file must be replaced, never rewritten in
    // place: prepare-model.sh replaces the directory and export_graph.py renames a new file
    // over the old, which leave the verified inode mapped here.
    nn::NetworkOptions no;
    no.precision = precision;
    no.threads = options.num_threads;
    no.winograd = options.winograd;
    no.own_winograd = options.own_winograd;
    no.winograd_compact = options.winograd_compact;
    no.huge_pages = options.huge_pages;
    if (!options.winograd_f6) {
      no.winograd_f6_share = std::numeric_limits<double>::infinity();
      no.winograd_compact_f6 = false;
    }
    auto network = nn::Network::Create(mapped, mapped->data(), no);
    if (!network.ok()) return network.status().Annotate("model file " + model_path);
    shared->network = std::move(*network);
    SPARKIFY_RETURN_IF_ERROR(CheckNames(shared->network->graph(), m));
    SPARKIFY_RETURN_IF_ERROR(shared->network->Prepare(input_size, input_size));
    // The weights of this size are converted: unless the forward reads some in place, the
    // file's pages can leave our resident set (another size reads them again from the page
    // cache).
    if (shared->network->weight_bytes_in_file() == 0) mapped->Release();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory loading model " + model_path);
  }
  return std::unique_ptr<GraphSegmenter>(new GraphSegmenter(std::move(shared), input_size));
}

GraphSegmenter::GraphSegmenter(std::shared_ptr<Shared> shared, int input_size)
    : shared_(std::move(shared)), input_size_(input_size) {}
GraphSegmenter::~GraphSegmenter() = default;

Result<std::unique_ptr<GraphSegmenter>> GraphSegmenter::WithInputSize(int size) const {
  if (size == 0) size = shared_->manifest.input.default_size;
  SPARKIFY_RETURN_IF_ERROR(CheckInputSize(shared_->manifest, size));
  return std::unique_ptr<GraphSegmenter>(new GraphSegmenter(shared_, size));
}

const ModelManifest& GraphSegmenter::manifest() const { return shared_->manifest; }
int GraphSegmenter::input_size() const { return input_size_; }
const std::string& GraphSegmenter::precision() const { return shared_->precision; }
nn::Network& GraphSegmenter::network() const { return *shared_->network; }

std::string GraphSegmenter::ModelId() const {
  return shared_->manifest.name + "-" + shared_->precision + "@" + std::to_string(input_size_);
}

Result<Mask> GraphSegmenter::Saliency(const Image& image) {
  if (image.pixels.empty() || image.pixels.depth() != CV_8U ||
      (image.pixels.channels() != 3 && image.pixels.channels() != 4)) {
    return Status::InvalidArgument("segmenter needs a non-empty 8-bit RGB or RGBA image");
  }
  const ModelManifest& m = shared_->manifest;
  try {
    const cv::Mat blob = internal::MakeInputBlob(image, m.input, input_size_);
    SPARKIFY_ASSIGN_OR_RETURN(
        nn::Tensor out, shared_->network->Run(blob.ptr<float>(), input_size_, input_size_));
    const int dims[4] = {1, out.shape.c, out.shape.h, out.shape.w};
    const cv::Mat output(4, dims, CV_32F, out.data.data());
    SPARKIFY_ASSIGN_OR_RETURN(cv::Mat small, internal::OutputToMask(output, m.output));
    return internal::MaskToImageSize(small, image.width(), image.height());
  } catch (const cv::Exception& e) {
    return Status::Internal("segmentation with " + m.name + " failed in OpenCV: " + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory segmenting a " + std::to_string(image.width()) +
                                     "x" + std::to_string(image.height()) + " image");
  }
}

}  // namespace sparkify::vision
