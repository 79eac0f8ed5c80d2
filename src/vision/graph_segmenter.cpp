// GraphSegmenter: manifest + verified graph bytes -> one nn::Network shared by every input
// size (the engine keeps a plan per size and one copy of the weights per layout).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Reads the whole model file, after checking its size against the manifest (so a wrong file
// is refused before a large read), into one buffer of exactly that size.
Result<std::string> ReadModel(const std::string& path, uint64_t expected_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(Errno("model file missing:", path));
    return Status::IOError(Errno("cannot open model file", path));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Status::IOError(Errno("cannot stat model file", path));
    ::close(fd);
    return s;
  }
  if (static_cast<uint64_t>(st.st_size) != expected_size) {
    ::close(fd);
    return Status::Corruption("model file " + path + " is " + std::to_string(st.st_size) +
                              " bytes; its manifest says " + std::to_string(expected_size) +
                              " (re-run tools/model/prepare-model.sh)");
  }
  std::string bytes(expected_size, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n < 0 ? Status::IOError(Errno("cannot read model file", path))
                       : Status::Corruption("model file " + path + " shrank while being read");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

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
  {
    Result<std::string> text = ReadFileToString(manifest_path, 1 << 20);
    if (!text.ok()) {
      const Status& s = text.status();
      const std::string msg = "model manifest " + manifest_path + ": " + s.message();
      return s.IsNotFound() ? Status::NotFound(msg) : Status::IOError(msg);
    }
    SPARKIFY_ASSIGN_OR_RETURN(shared->manifest, ParseManifest(*text));
  }
  const ModelManifest& m = shared->manifest;
  const int input_size = options.input_size == 0 ? m.input.default_size : options.input_size;
  SPARKIFY_RETURN_IF_ERROR(CheckInputSize(m, input_size));
  shared->precision = options.precision.empty() ? "fp32" : options.precision;
  if (std::find(m.precisions.begin(), m.precisions.end(), shared->precision) ==
      m.precisions.end()) {
    std::string offered;
    for (const auto& p : m.precisions) offered += (offered.empty() ? "" : ", ") + p;
    return Status::InvalidArgument("model " + m.name + " is not offered in precision " +
                                   shared->precision + " (its manifest offers " + offered +
                                   ": the others failed its quality gate)");
  }
  SPARKIFY_ASSIGN_OR_RETURN(nn::Precision precision, nn::ParsePrecision(shared->precision));

  const std::string model_path = DirOf(manifest_path) + "/" + m.file;
  try {
    SPARKIFY_ASSIGN_OR_RETURN(std::string bytes, ReadModel(model_path, m.size));
    if (Sha256Hex(bytes) != m.sha256) {
      return Status::Corruption("model file " + model_path +
                                " does not match the sha256 in its manifest (re-run "
                                "tools/model/prepare-model.sh)");
    }
    // Built from the very bytes that were verified: no window to swap the file in between.
    nn::NetworkOptions no;
    no.precision = precision;
    no.threads = options.num_threads;
    auto network = nn::Network::Create(std::move(bytes), no);
    if (!network.ok()) return network.status().Annotate("model file " + model_path);
    shared->network = std::move(*network);
    SPARKIFY_RETURN_IF_ERROR(CheckNames(shared->network->graph(), m));
    SPARKIFY_RETURN_IF_ERROR(shared->network->Prepare(input_size, input_size));
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
