// sparkify_bench_function: the OpenCV DNN side of bench/function_bench.sh.
//
//   sparkify_bench_function --manifest M.json --size N [--repeat R] [--threads T]
//                           [--dump DIR] [--layers] [--perf-ctl CTL_FIFO ACK_FIFO] IMAGE...
//
// 1. Model load, timed exactly as the function does it: vision::OpenCvSegmenter::Load (read
//    the file, check its size and sha256, cv::dnn::readNetFromONNX from those bytes); the
//    process's VmHWM right after is the load peak. The segmenter is then dropped; VmHWM is
//    reset (/proc/self/clear_refs) once the timed net is built, so the reported peak is
//    max(load peak, peak of the forwards), as in the function (Load, then forwards).
// 2. A cv::dnn::Net built the same way (same bytes, DNN_BACKEND_OPENCV, DNN_TARGET_CPU, the
//    same thread count), so that the forward pass can be timed on its own; pre- and
//    post-processing are the function's own (vision::internal::MakeInputBlob, OutputToMask,
//    MaskToImageSize, vision::CutOut), i.e. the steps of OpenCvSegmenter::Saliency and
//    function::CutOutFile, one by one.
// 3. One warm-up forward (the first forward allocates the net's buffers; reported apart),
//    then R rounds over the images, each step timed: read (file bytes), decode (DecodeImage),
//    blob (stretch to NxN + normalise), forward, mask (output -> soft mask at full
//    resolution), cutout (alpha + PNG encode, level 3). "whole" is their sum.
//
// --dump DIR writes NAME_N.f32 (the input blob, float32 NCHW) and NAME_N.opencv.f32 (the raw
// output) for every image, so onnxruntime can be fed the very same inputs.
// --layers adds OpenCV's per-layer timings (Net::getPerfProfile) of the last forward of the
// first image, summed by layer type, plus the slowest layers.
// --perf-ctl: for `perf record --control fifo:CTL,ACK --delay=-1`: after loading and one
// warm-up forward, enables perf, runs exactly one forward of the first image, disables it and
// exits (no rounds).
//
// Prints one JSON document on stdout. Exit 0, or 1 with a message on stderr.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include "common/crypto.h"
#include "common/files.h"
#include "vision/cutout.h"
#include "vision/image.h"
#include "vision/manifest.h"
#include "vision/model_io.h"
#include "vision/segmenter.h"

namespace {

namespace vision = sparkify::vision;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "sparkify_bench_function: " << what << "\n";
  std::exit(1);
}

// A field of /proc/self/status in MB (10^6 bytes), e.g. "VmHWM".
double StatusMb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stod(line.substr(field.size() + 1)) * 1024 / 1e6;
    }
  }
  return -1;
}

void WriteFloats(const std::string& path, const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.ptr<float>()),
            static_cast<std::streamsize>(c.total() * sizeof(float)));
  if (!out) Die("cannot write " + path);
}

struct PerfControl {
  int ctl = -1;
  int ack = -1;
  void Send(const char* cmd) const {
    if (::write(ctl, cmd, std::strlen(cmd)) < 0) Die("perf control fifo: write failed");
    char buf[16];
    (void)!::read(ack, buf, sizeof buf);  // "ack\n"
  }
};

struct Flags {
  std::string manifest;
  int size = 0;
  int repeat = 3;
  int threads = 0;
  std::string dump;
  bool layers = false;
  std::string perf_ctl, perf_ack;
  std::vector<std::string> images;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--manifest") {
      f.manifest = next();
    } else if (a == "--size") {
      f.size = std::stoi(next());
    } else if (a == "--repeat") {
      f.repeat = std::stoi(next());
    } else if (a == "--threads") {
      f.threads = std::stoi(next());
    } else if (a == "--dump") {
      f.dump = next();
    } else if (a == "--layers") {
      f.layers = true;
    } else if (a == "--perf-ctl") {
      f.perf_ctl = next();
      f.perf_ack = next();
    } else if (!a.empty() && a[0] == '-') {
      Die("unknown option " + a);
    } else {
      f.images.push_back(a);
    }
  }
  if (f.manifest.empty() || f.images.empty() || f.repeat < 1) {
    Die("usage: sparkify_bench_function --manifest M.json --size N [--repeat R] [--threads T] "
        "[--dump DIR] [--layers] [--perf-ctl CTL ACK] IMAGE...");
  }
  return f;
}

// Per-layer timings of the net's last forward, summed by layer type, and the slowest layers.
json LayerProfile(cv::dnn::Net& net) {
  std::vector<double> times;
  const double total_ms = net.getPerfProfile(times) * 1000.0 / cv::getTickFrequency();
  const std::vector<std::string> names = net.getLayerNames();
  std::map<std::string, std::pair<double, int>> by_type;
  std::vector<std::pair<double, std::string>> layers;
  // getPerfProfile's vector has one entry per layer, in getLayerNames order (ids 1..n).
  for (size_t i = 0; i < times.size() && i < names.size(); ++i) {
    const double ms = times[i] * 1000.0 / cv::getTickFrequency();
    const int id = net.getLayerId(names[i]);
    std::string type = net.getLayer(id)->type;
    auto& t = by_type[type];
    t.first += ms;
    t.second += 1;
    layers.emplace_back(ms, names[i] + " (" + type + ")");
  }
  std::sort(layers.rbegin(), layers.rend());
  json types = json::array();
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [type, t] : by_type) order.emplace_back(t.first, type);
  std::sort(order.rbegin(), order.rend());
  for (const auto& [ms, type] : order) {
    types.push_back({{"type", type}, {"ms", ms}, {"count", by_type[type].second}});
  }
  json top = json::array();
  for (size_t i = 0; i < layers.size() && i < 12; ++i) {
    top.push_back({{"layer", layers[i].second}, {"ms", layers[i].first}});
  }
  return {{"total_ms", total_ms},
          {"by_type", types},
          {"top_layers", top},
          {"layer_count", layers.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const int threads =
      f.threads > 0 ? f.threads : static_cast<int>(std::thread::hardware_concurrency());

  // 1. Load as the function does.
  vision::SegmenterOptions seg_options;
  seg_options.input_size = f.size;
  seg_options.num_threads = threads;
  auto t0 = Clock::now();
  auto segmenter = vision::OpenCvSegmenter::Load(f.manifest, seg_options);
  const double load_s = Since(t0);
  if (!segmenter.ok()) Die("cannot load " + f.manifest + ": " + segmenter.status().ToString());
  const double hwm_after_load = StatusMb("VmHWM");
  const double rss_after_load = StatusMb("VmRSS");
  const vision::ModelManifest manifest = (*segmenter)->manifest();
  const int size = (*segmenter)->input_size();
  segmenter->reset();
  ::malloc_trim(0);  // give the segmenter's memory back before building the timed net
  const double rss_after_drop = StatusMb("VmRSS");

  // 2. The same net, built the same way, held here so its forward can be timed on its own.
  const std::string model_path =
      (std::filesystem::path(f.manifest).parent_path() / manifest.file).string();
  cv::dnn::Net net;
  {
    // One buffer of exactly the file's size, as Load reads it (no growing string).
    std::string bytes(manifest.size, '\0');
    std::ifstream in(model_path, std::ios::binary);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in || sparkify::Sha256Hex(bytes) != manifest.sha256) {
      Die(model_path + " does not match its manifest");
    }
    net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::setNumThreads(threads);
  // Restart the peak (VmHWM) here: the peak of the forwards below plus the load's peak give
  // the function's (Load, then forwards), without this second import's own transient.
  ::malloc_trim(0);  // the import's freed parse buffers (Load's caller sees them freed too)
  const double rss_net = StatusMb("VmRSS");
  std::ofstream("/proc/self/clear_refs") << "5";

  struct Input {
    std::string name, path;
  };
  std::vector<Input> inputs;
  for (const auto& p : f.images) inputs.push_back({std::filesystem::path(p).stem().string(), p});

  auto forward = [&](const cv::Mat& blob) {
    net.setInput(blob, manifest.input.name);
    return net.forward(manifest.output.name).clone();
  };

  // 3. Warm-up: the first forward allocates every buffer of the net.
  cv::Mat first_blob;
  {
    auto bytes = sparkify::ReadFileToString(inputs[0].path);
    if (!bytes.ok()) Die(bytes.status().ToString());
    auto image = vision::DecodeImage(*bytes);
    if (!image.ok()) Die(inputs[0].path + ": " + image.status().ToString());
    first_blob = vision::internal::MakeInputBlob(*image, manifest.input, size);
  }
  t0 = Clock::now();
  forward(first_blob);
  const double first_forward_s = Since(t0);
  const double rss_after_first_forward = StatusMb("VmRSS");

  if (!f.perf_ctl.empty()) {
    PerfControl perf;
    perf.ctl = ::open(f.perf_ctl.c_str(), O_WRONLY | O_CLOEXEC);
    perf.ack = ::open(f.perf_ack.c_str(), O_RDONLY | O_CLOEXEC);
    if (perf.ctl < 0 || perf.ack < 0) Die("cannot open the perf control fifos");
    perf.Send("enable\n");
    t0 = Clock::now();
    forward(first_blob);
    const double s = Since(t0);
    perf.Send("disable\n");
    json out = {{"size", size},
                {"threads", threads},
                {"profiled_forward_s", s},
                {"first_forward_s", first_forward_s},
                {"load_s", load_s}};
    if (f.layers) out["layers"] = LayerProfile(net);
    std::cout << out.dump(1) << std::endl;
    return 0;
  }

  json images = json::array();
  for (const auto& in : inputs) images.push_back({{"name", in.name}, {"runs", json::array()}});
  json layers;
  for (int r = 0; r < f.repeat; ++r) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      json run;
      auto step = Clock::now();
      auto lap = [&](const char* name) {
        run[name] = Since(step);
        step = Clock::now();
      };
      auto bytes = sparkify::ReadFileToString(inputs[i].path);
      if (!bytes.ok()) Die(bytes.status().ToString());
      lap("read");
      auto image = vision::DecodeImage(*bytes);
      if (!image.ok()) Die(inputs[i].path + ": " + image.status().ToString());
      lap("decode");
      const cv::Mat blob = vision::internal::MakeInputBlob(*image, manifest.input, size);
      lap("blob");
      const cv::Mat output = forward(blob);
      lap("forward");
      if (f.layers && i == 0 && r == f.repeat - 1) layers = LayerProfile(net);
      step = Clock::now();
      auto small = vision::internal::OutputToMask(output, manifest.output);
      if (!small.ok()) Die(small.status().ToString());
      const vision::Mask mask =
          vision::internal::MaskToImageSize(*small, image->width(), image->height());
      lap("mask");
      auto cut = vision::CutOut(*image, mask);
      if (!cut.ok()) Die(cut.status().ToString());
      lap("cutout");
      double whole = 0;
      for (const char* k : {"read", "decode", "blob", "forward", "mask", "cutout"}) {
        whole += run[k].get<double>();
      }
      run["whole"] = whole;
      images[i]["runs"].push_back(run);
      if (r == 0) {
        images[i]["width"] = image->width();
        images[i]["height"] = image->height();
        images[i]["foreground_share"] = cut->foreground_share;
        images[i]["png_bytes"] = cut->png.size();
        if (!f.dump.empty()) {
          const std::string base = f.dump + "/" + inputs[i].name + "_" + std::to_string(size);
          WriteFloats(base + ".f32", blob);
          WriteFloats(base + ".opencv.f32", output);
        }
      }
    }
  }
  json out = {{"engine", "opencv-dnn"},
              {"opencv", cv::getVersionString()},
              {"size", size},
              {"threads", threads},
              {"load_s", load_s},
              {"first_forward_s", first_forward_s},
              {"vmhwm_load_mb", hwm_after_load},
              {"vmrss_after_load_mb", rss_after_load},
              {"vmrss_after_drop_mb", rss_after_drop},
              {"vmrss_net_mb", rss_net},
              {"vmhwm_forward_mb", StatusMb("VmHWM")},
              {"vmrss_after_first_forward_mb", rss_after_first_forward},
              {"vmhwm_mb", std::max(hwm_after_load, StatusMb("VmHWM"))},
              {"images", images}};
  if (f.layers) out["layers"] = layers;
  std::cout << out.dump(1) << std::endl;
  return 0;
}
