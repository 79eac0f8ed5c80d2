#include "function/batch.h"

#include <filesystem>
#include <set>

#include "common/files.h"
#include "function/cutout_meta.h"
#include "vision/cutout.h"

namespace sparkify::function {

Result<FileCutout> CutOutFile(const std::string& input, const std::string& output,
                              vision::Segmenter& segmenter, const FileCutoutOptions& options) {
  auto bytes = ReadFileToString(input, options.limits.max_bytes + 1);
  if (!bytes.ok()) return bytes.status();
  auto image = vision::DecodeImage(*bytes, options.limits);
  if (!image.ok()) return image.status();
  auto mask = segmenter.Saliency(*image);
  if (!mask.ok()) return mask.status();
  vision::CutOutOptions cut_options;
  cut_options.crop_threshold = options.threshold;
  cut_options.png_compression = options.png_compression;
  auto cut = vision::CutOut(*image, *mask, cut_options);
  if (!cut.ok()) return cut.status();
  SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(output, cut->png, 0644));
  if (!options.mask_output.empty()) {
    SPARKIFY_ASSIGN_OR_RETURN(std::string png, vision::EncodeMaskPng(*mask, options.png_compression));
    SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(options.mask_output, png, 0644));
  }
  FileCutout out;
  out.foreground_share = cut->foreground_share;
  out.mask_quality = cut->quality.score;
  out.cropped = ShownCutOut(cut->foreground_share, cut->quality.score, options.threshold);
  out.width = image->width();
  out.height = image->height();
  out.cutout_width = cut->width;
  out.cutout_height = cut->height;
  return out;
}

std::string MaskPath(const std::string& cutout_path) {
  std::filesystem::path p(cutout_path);
  return (p.parent_path() / (p.stem().string() + ".mask.png")).string();
}

std::vector<std::string> CutoutPaths(const std::vector<std::string>& inputs,
                                     const std::string& out_dir) {
  std::set<std::string> used;
  std::vector<std::string> out;
  for (const std::string& in : inputs) {
    std::string stem = std::filesystem::path(in).stem().string();
    if (stem.empty() || stem == "." || stem == "..") stem = "image";
    // "x.mask" would make x.mask.png, the mask file of "x": keep cut-outs and masks apart.
    if (stem.ends_with(".mask")) stem += "-image";
    std::string name = stem + ".png";
    for (int n = 2; used.count(name); ++n) name = stem + "-" + std::to_string(n) + ".png";
    used.insert(name);
    out.push_back((std::filesystem::path(out_dir) / name).string());
  }
  return out;
}

}  // namespace sparkify::function
