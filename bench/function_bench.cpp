// sparkify_bench_function: our side of bench/function_bench.sh.
//
//   sparkify_bench_function --manifest M.json --size N [--precision fp32|fast|bf16] [--repeat R]
//                           [--threads T] [--dump DIR] [--layers] [--perf-ctl CTL ACK]
//                           [--small-pages] IMAGE...
//
// 1. Model load, timed exactly as the function does it: vision::GraphSegmenter::Load (read
//    the graph file, check its size and sha256, build the engine from those bytes, plan the
//    size); the process's VmHWM right after is the load peak.
// 2. One warm-up cut-out of the first image (the first forward touches the activation arena
//    for the first time: reported apart as first_forward_s), then R rounds over the images,
//    each step timed: read (file bytes), decode (DecodeImage), blob (stretch to NxN +
//    normalise), forward (the engine), mask (output -> soft mask at full resolution), cutout
//    (alpha + PNG encode). "whole" is their sum: what one cut-out costs the function.
//
// --dump DIR writes NAME_N.f32 (the input blob, float32 NCHW) and NAME_N.ours.f32 (the raw
// output) for every image, so onnxruntime can be fed the very same inputs and compared.
// --layers adds the engine's per-step timings of REPEAT extra forwards of the first image
// (each step's fastest), summed by implementation, plus every step, slowest first. The sums
// of steps' minima are a lower bound, not the time of one forward.
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

#include "common/crypto.h"
#include "common/files.h"
#include "common/heap.h"
#include "vision/cutout.h"
#include "vision/image.h"
#include "vision/manifest.h"
#include "vision/model_io.h"
#include "vision/segmenter.h"

namespace {

namespace vision = sparkify::vision;
namespace nn = sparkify::nn;
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

void WriteFloats(const std::string& path, const float* data, size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
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
  std::string precision = "fp32";
  std::string dump;
  bool layers = false;
  bool onednn_winograd = false;  // oneDNN's Winograd kernels instead of ours
  bool no_f6 = false;            // F(4x4) where our kernel would take F(6x6)
  bool no_compact = false;       // Winograd layers all with converted weights, none fp16 3x3
  bool small_pages = false;      // the engine's buffers in 4 KiB pages (--huge-pages off)
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
    } else if (a == "--precision") {
      f.precision = next();
    } else if (a == "--dump") {
      f.dump = next();
    } else if (a == "--onednn-winograd") {
      f.onednn_winograd = true;
    } else if (a == "--no-f6") {
      f.no_f6 = true;
    } else if (a == "--no-compact") {
      f.no_compact = true;
    } else if (a == "--small-pages") {
      f.small_pages = true;
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
    Die("usage: sparkify_bench_function --manifest M.json --size N [--precision P] [--repeat R] "
        "[--threads T] [--dump DIR] [--layers] [--onednn-winograd] [--no-f6] [--no-compact] "
        "[--perf-ctl CTL ACK] [--small-pages] IMAGE...");
  }
  return f;
}

// The engine's per-step timings, each step's fastest of `runs` profiled forwards (a shared
// host's interference only ever adds time: the minimum is the step's own), summed by
// implementation, and every step, slowest first ("top_steps").
json LayerProfile(nn::Network& net, const float* blob, int size, int runs) {
  std::vector<nn::StepTiming> steps;
  for (int r = 0; r < runs; ++r) {
    std::vector<nn::StepTiming> once;
    if (!net.Run(blob, size, size, &once).ok()) Die("profiled forward failed");
    if (r == 0) {
      steps = std::move(once);
      continue;
    }
    if (once.size() != steps.size()) Die("profiled forwards ran different steps");
    for (size_t i = 0; i < steps.size(); ++i) steps[i].ms = std::min(steps[i].ms, once[i].ms);
  }
  std::map<std::string, std::pair<double, double>> by_impl;  // ms, gflop
  std::map<std::string, int> count;
  double total = 0;
  for (const auto& s : steps) {
    by_impl[s.impl].first += s.ms;
    by_impl[s.impl].second += s.gflop;
    ++count[s.impl];
    total += s.ms;
  }
  json impls = json::array();
  for (const auto& [impl, v] : by_impl) {
    impls.push_back({{"impl", impl}, {"ms", v.first}, {"gflop", v.second}, {"count", count[impl]}});
  }
  std::sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  json top = json::array();
  for (size_t i = 0; i < steps.size(); ++i) {
    top.push_back({{"step", steps[i].name}, {"impl", steps[i].impl}, {"ms", steps[i].ms},
                   {"gflop", steps[i].gflop}});
  }
  return {{"total_ms", total}, {"by_impl", impls}, {"top_steps", top},
          {"step_count", steps.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const int threads =
      f.threads > 0 ? f.threads : static_cast<int>(std::thread::hardware_concurrency());

  // 1. Load as the function does (with its heap tuning).
  sparkify::KeepLargeBuffersForReuse();
  vision::SegmenterOptions seg_options;
  seg_options.input_size = f.size;
  seg_options.num_threads = threads;
  seg_options.precision = f.precision;
  seg_options.own_winograd = !f.onednn_winograd;
  seg_options.winograd_f6 = !f.no_f6;
  seg_options.winograd_compact = !f.no_compact;
  seg_options.huge_pages = !f.small_pages;
  auto t0 = Clock::now();
  auto loaded = vision::GraphSegmenter::Load(f.manifest, seg_options);
  const double load_s = Since(t0);
  if (!loaded.ok()) Die("cannot load " + f.manifest + ": " + loaded.status().ToString());
  std::unique_ptr<vision::GraphSegmenter> segmenter = std::move(*loaded);
  const double hwm_after_load = StatusMb("VmHWM");
  const double rss_after_load = StatusMb("VmRSS");
  const vision::ModelManifest& manifest = segmenter->manifest();
  const int size = segmenter->input_size();
  nn::Network& net = segmenter->network();

  struct Input {
    std::string name, path;
  };
  std::vector<Input> inputs;
  for (const auto& p : f.images) inputs.push_back({std::filesystem::path(p).stem().string(), p});

  auto forward = [&](const cv::Mat& blob) {
    auto out = net.Run(blob.ptr<float>(), size, size);
    if (!out.ok()) Die("forward failed: " + out.status().ToString());
    return std::move(*out);
  };

  // 2. Warm-up: the first forward touches the activation arena for the first time.
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
    if (f.layers) out["layers"] = LayerProfile(net, first_blob.ptr<float>(), size, f.repeat);
    std::cout << out.dump(1) << std::endl;
    return 0;
  }

  json images = json::array();
  for (const auto& in : inputs) images.push_back({{"name", in.name}, {"runs", json::array()}});
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
      nn::Tensor output = forward(blob);
      lap("forward");
      const int dims[4] = {1, output.shape.c, output.shape.h, output.shape.w};
      auto small = vision::internal::OutputToMask(cv::Mat(4, dims, CV_32F, output.data.data()),
                                                  manifest.output);
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
          WriteFloats(base + ".f32", blob.ptr<float>(), blob.total());
          WriteFloats(base + ".ours.f32", output.data.data(), output.data.size());
        }
      }
    }
  }
  json out = {{"engine", "sparkify-nn (oneDNN)"},
              {"precision", segmenter->precision()},
              {"isa", nn::CpuIsaName()},
              {"size", size},
              {"threads", threads},
              {"load_s", load_s},
              {"first_forward_s", first_forward_s},
              {"vmhwm_load_mb", hwm_after_load},
              {"vmrss_after_load_mb", rss_after_load},
              {"vmrss_after_first_forward_mb", rss_after_first_forward},
              {"weights_mb", net.weight_bytes() / 1e6},
              {"weights_in_file_mb", net.weight_bytes_in_file() / 1e6},
              {"arena_mb", net.arena_bytes() / 1e6},
              {"vmhwm_mb", StatusMb("VmHWM")},
              {"images", images}};
  if (f.layers) out["layers"] = LayerProfile(net, first_blob.ptr<float>(), size, f.repeat);
  std::cout << out.dump(1) << std::endl;
  return 0;
}
