// `sparkify segment FILE... -o DIR`: batch cut-outs of local files, with a progress bar on a
// terminal (plain lines otherwise) and a JSON summary on stdout.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/function_config.h"
#include "common/heap.h"
#include "function/batch.h"
#include "function/models.h"
#include "vision/manifest.h"

namespace sparkify::cli {
namespace {

using json = nlohmann::json;

struct SegmentFlags {
  FunctionConfig config;
  std::vector<std::string> files;
  std::string out_dir;
  bool masks = false;
};

// Progress on stderr: a redrawn bar on a terminal, one line per file otherwise.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

  void Start(size_t index, const std::string& file) {
    if (!tty_) return;
    Draw(index, "cutting out " + std::filesystem::path(file).filename().string());
  }
  void Done(size_t index, const std::string& file, const std::string& outcome, double seconds) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", seconds);
    if (tty_) {
      Draw(index + 1, std::filesystem::path(file).filename().string() + ": " + outcome);
      if (index + 1 == total_) std::cerr << "\n";
    } else {
      std::cerr << "segment " << index + 1 << "/" << total_ << " " << file << ": " << outcome
                << " (" << secs << ")\n";
    }
  }

 private:
  void Draw(size_t done, const std::string& what) {
    constexpr int kWidth = 30;
    int filled = total_ == 0 ? kWidth : static_cast<int>(kWidth * done / total_);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    std::string text = what.size() > 40 ? what.substr(0, 37) + "..." : what;
    std::cerr << "\r\033[K[" << bar << "] " << done << "/" << total_ << " " << text << std::flush;
  }
  size_t total_;
  bool tty_;
};

int RunSegment(const SegmentFlags& f) {
  std::error_code ec;
  std::filesystem::create_directories(f.out_dir, ec);
  if (ec) {
    std::cerr << "sparkify segment: cannot create " << f.out_dir << ": " << ec.message() << "\n";
    return 2;
  }
  function::ModelCacheOptions model_options;
  model_options.manifest_path = f.config.model.empty() ? DefaultModelManifest() : f.config.model;
  model_options.default_size = f.config.size;
  model_options.precision = f.config.precision;
  model_options.huge_pages = f.config.huge_pages == "on";
  KeepLargeBuffersForReuse();  // each file's buffers are reused, not faulted in again
  auto load_start = std::chrono::steady_clock::now();
  auto models = function::ModelCache::Open(model_options);
  if (!models.ok() && models.status().code() == Status::Code::kInvalidArgument &&
      f.config.size != 0) {  // a side the model does not take: say which flag
    if (auto m = vision::LoadManifest(model_options.manifest_path); m.ok()) {
      if (Status s = vision::CheckInputSize(*m, f.config.size); !s.ok()) {
        std::cerr << "sparkify segment: --size " << f.config.size << ": " << s.message() << "\n";
        return 2;
      }
    }
  }
  if (!models.ok()) {
    std::cerr << "sparkify segment: cannot load the model " << model_options.manifest_path << ": "
              << models.status().ToString()
              << (models.status().IsNotFound() && f.config.model.empty()
                      ? " (scripts/setup.sh prepares the model in $SPARKIFY_CACHE)"
                      : "")
              << "\n";
    return 2;
  }
  double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  auto segmenter = (*models)->ForSize(0);
  if (!segmenter.ok()) {
    std::cerr << "sparkify segment: " << segmenter.status().ToString() << "\n";
    return 2;
  }

  function::FileCutoutOptions options;
  options.threshold = f.config.threshold;
  const std::vector<std::string> outputs = function::CutoutPaths(f.files, f.out_dir);
  Progress progress(f.files.size());
  json results = json::array();
  int failed = 0;
  for (size_t i = 0; i < f.files.size(); ++i) {
    progress.Start(i, f.files[i]);
    auto start = std::chrono::steady_clock::now();
    options.mask_output = f.masks ? function::MaskPath(outputs[i]) : "";
    auto r = function::CutOutFile(f.files[i], outputs[i], **segmenter, options);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    json item = {{"file", f.files[i]}};
    if (r.ok()) {
      item["foreground_share"] = std::round(r->foreground_share * 1e4) / 1e4;
      item["mask_quality"] = std::round(r->mask_quality * 1e3) / 1e3;
      item["cropped"] = r->cropped;
      item["output"] = outputs[i];
      if (f.masks) item["mask"] = options.mask_output;
      item["width"] = r->width;
      item["height"] = r->height;
      item["cutout_size"] = {r->cutout_width, r->cutout_height};
      item["seconds"] = std::round(secs * 100) / 100;
      char scores[64];
      std::snprintf(scores, sizeof scores, ", share %.3f, mask quality %.2f", r->foreground_share,
                    r->mask_quality);
      progress.Done(i, f.files[i], std::string(r->cropped ? "cropped" : "uncropped") + scores,
                    secs);
    } else {
      ++failed;
      item["error"] = r.status().message().empty() ? r.status().ToString() : r.status().message();
      progress.Done(i, f.files[i], "error: " + item["error"].get<std::string>(), secs);
    }
    results.push_back(std::move(item));
  }
  json summary = {{"model", (*segmenter)->ModelId()},
                  {"threshold", f.config.threshold},
                  {"model_load_seconds", std::round(load_s * 100) / 100},
                  {"succeeded", static_cast<int>(f.files.size()) - failed},
                  {"failed", failed},
                  {"results", std::move(results)}};
  std::cout << summary.dump(2, ' ', false, json::error_handler_t::replace) << std::endl;
  return failed == 0 ? 0 : 1;
}

}  // namespace

void RegisterSegment(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SegmentFlags>();
  auto* cmd = app.add_subcommand(
      "segment", "Cut the subject out of image files (RGBA PNGs in DIR, JSON summary on stdout)");
  cmd->add_option("files", flags->files, "JPEG, PNG or WebP files")->required();
  cmd->add_option("-o,--out", flags->out_dir, "Directory for the cut-outs (created if missing)")
      ->required();
  cmd->add_flag("--masks", flags->masks,
                "Also write each model mask as an 8-bit grey NAME.mask.png beside the cut-out");
  AddModelOptions(cmd, &flags->config);
  cmd->callback([flags, exit_code] { *exit_code = RunSegment(*flags); });
}

}  // namespace sparkify::cli
