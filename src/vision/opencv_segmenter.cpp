// OpenCvSegmenter: manifest + verified model bytes -> one cv::dnn::Net, guarded by a mutex.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "common/crypto.h"
#include "common/files.h"
#include "vision/model_io.h"
#include "vision/segmenter.h"

namespace sparkify::vision {

struct OpenCvSegmenter::State {
  ModelManifest manifest;
  int input_size = 0;
  std::mutex mu;  // guards net: cv::dnn::Net is not safe for concurrent setInput/forward
  cv::dnn::Net net;
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

Status CheckNames(cv::dnn::Net& net, const ModelManifest& m) {
  // setInput resolves the name without running anything; a tiny blob keeps it cheap.
  const int dims[4] = {1, 3, 1, 1};
  try {
    net.setInput(cv::Mat(4, dims, CV_32F, cv::Scalar(0)), m.input.name);
  } catch (const cv::Exception&) {
    return Status::FailedPrecondition("model " + m.name + " has no input named \"" + m.input.name +
                                      "\"");
  }
  if (net.getLayerId(m.output.name) < 0) {
    std::string outs;
    for (const auto& n : net.getUnconnectedOutLayersNames()) outs += (outs.empty() ? "" : ", ") + n;
    return Status::FailedPrecondition("model " + m.name + " has no output named \"" +
                                      m.output.name + "\" (its outputs: " + outs + ")");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<OpenCvSegmenter>> OpenCvSegmenter::Load(const std::string& manifest_path,
                                                               const SegmenterOptions& options) {
  auto state = std::make_unique<State>();
  {
    Result<std::string> text = ReadFileToString(manifest_path, 1 << 20);
    if (!text.ok()) {
      const Status& s = text.status();
      const std::string msg = "model manifest " + manifest_path + ": " + s.message();
      return s.IsNotFound() ? Status::NotFound(msg) : Status::IOError(msg);
    }
    SPARKIFY_ASSIGN_OR_RETURN(state->manifest, ParseManifest(*text));
  }
  const ModelManifest& m = state->manifest;
  state->input_size = options.input_size == 0 ? m.input.default_size : options.input_size;
  SPARKIFY_RETURN_IF_ERROR(CheckInputSize(m, state->input_size));

  const std::string model_path = DirOf(manifest_path) + "/" + m.file;
  try {
    SPARKIFY_ASSIGN_OR_RETURN(std::string bytes, ReadModel(model_path, m.size));
    if (Sha256Hex(bytes) != m.sha256) {
      return Status::Corruption("model file " + model_path +
                                " does not match the sha256 in its manifest (re-run "
                                "tools/model/prepare-model.sh)");
    }
    // Built from the very bytes that were verified: no window to swap the file in between.
    state->net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    if (state->net.empty()) {
      return Status::FailedPrecondition("OpenCV imported no layers from " + model_path);
    }
    state->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    state->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    SPARKIFY_RETURN_IF_ERROR(CheckNames(state->net, m));
  } catch (const cv::Exception& e) {
    return Status::FailedPrecondition("OpenCV cannot load model " + model_path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory loading model " + model_path);
  }

  if (options.num_threads >= 0) {
    const int threads = options.num_threads > 0
                            ? options.num_threads
                            : static_cast<int>(std::thread::hardware_concurrency());
    if (threads > 0) cv::setNumThreads(threads);
  }
  return std::unique_ptr<OpenCvSegmenter>(new OpenCvSegmenter(std::move(state)));
}

OpenCvSegmenter::OpenCvSegmenter(std::unique_ptr<State> state) : state_(std::move(state)) {}
OpenCvSegmenter::~OpenCvSegmenter() = default;

const ModelManifest& OpenCvSegmenter::manifest() const { return state_->manifest; }
int OpenCvSegmenter::input_size() const { return state_->input_size; }

std::string OpenCvSegmenter::ModelId() const {
  return state_->manifest.name + "@" + std::to_string(state_->input_size);
}

Result<Mask> OpenCvSegmenter::Saliency(const Image& image) {
  if (image.pixels.empty() || image.pixels.depth() != CV_8U ||
      (image.pixels.channels() != 3 && image.pixels.channels() != 4)) {
    return Status::InvalidArgument("segmenter needs a non-empty 8-bit RGB or RGBA image");
  }
  const ModelManifest& m = state_->manifest;
  try {
    const cv::Mat blob = internal::MakeInputBlob(image, m.input, state_->input_size);
    cv::Mat output;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->net.setInput(blob, m.input.name);
      output = state_->net.forward(m.output.name).clone();  // the net reuses its buffers
    }
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
