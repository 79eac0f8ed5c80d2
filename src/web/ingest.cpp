#include "web/internal/ingest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/crypto.h"
#include "common/files.h"
#include "vision/image_header.h"

namespace sparkify::web::internal {

ImageCheck CheckImage(std::string_view bytes) {
  ImageCheck out;
  if (!vision::SniffImageFormat(bytes)) {
    out.status = Status::InvalidArgument("not a JPEG, PNG or WebP image");
    out.error = {"unsupported_type", "This file is not a JPEG, PNG or WebP image."};
    return out;
  }
  auto header = vision::ParseImageHeader(bytes);
  if (!header.ok() || header->truncated) {
    std::string why = header.ok() ? "the file is cut short" : header.status().message();
    out.status = Status::InvalidArgument(why);
    out.error = {"bad_image", "This image is damaged (" + why + ")."};
    return out;
  }
  switch (header->format) {
    case vision::ImageFormat::kJpeg:
      out.info = {"jpg", "image/jpeg"};
      break;
    case vision::ImageFormat::kPng:
      out.info = {"png", "image/png"};
      break;
    case vision::ImageFormat::kWebp:
      out.info = {"webp", "image/webp"};
      break;
  }
  bool swapped = header->orientation >= 5 && header->orientation <= 8;
  out.info.width = static_cast<int>(swapped ? header->height : header->width);
  out.info.height = static_cast<int>(swapped ? header->width : header->height);
  return out;
}

namespace {

// "uploads/<hex of sha256>.<ext>", sha256 being the raw digest of the bytes.
std::string UploadKeyOf(std::string_view sha256, const ImageInfo& info) {
  return "uploads/" + HexEncode(sha256) + "." + info.ext;
}

}  // namespace

std::string UploadKey(std::string_view bytes, const ImageInfo& info) {
  return UploadKeyOf(Sha256(bytes), info);
}

Result<std::string> StoreCover(Bucket& bucket, std::string_view bytes, const ImageInfo& info) {
  std::string sha256 = Sha256(bytes);  // names the key, signs the PUT and is its checksum
  std::string key = UploadKeyOf(sha256, info);
  SPARKIFY_RETURN_IF_ERROR(bucket.Put(key, bytes, info.content_type, std::move(sha256)));
  return key;
}

std::vector<SampleFile> ListSamples(const std::string& dir, int max) {
  std::vector<SampleFile> out;
  if (dir.empty()) return out;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  // index.tsv: name, file, ... (header line first); its order is the set's order.
  std::map<std::string, size_t> order;
  std::ifstream index(dir + "/index.tsv");
  std::string line;
  for (size_t row = 0; std::getline(index, line); ++row) {
    size_t tab1 = line.find('\t');
    if (row == 0 || tab1 == std::string::npos) continue;
    size_t tab2 = line.find('\t', tab1 + 1);
    order[line.substr(tab1 + 1, tab2 - tab1 - 1)] = row;
  }
  std::vector<std::pair<size_t, SampleFile>> found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string file = entry.path().filename().string();
    std::string ext = entry.path().extension().string();
    if (ext != ".jpg" && ext != ".jpeg" && ext != ".png" && ext != ".webp") continue;
    auto bytes = ReadFileToString(entry.path().string(), 32u << 20);
    if (!bytes.ok() || !CheckImage(*bytes).status.ok()) continue;
    auto it = order.find(file);
    size_t rank = it == order.end() ? SIZE_MAX : it->second;
    found.push_back({rank, SampleFile{entry.path().stem().string(), entry.path().string()}});
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.name < b.second.name;
  });
  for (auto& [rank, sample] : found) {
    if (static_cast<int>(out.size()) >= max) break;
    out.push_back(std::move(sample));
  }
  return out;
}

}  // namespace sparkify::web::internal
