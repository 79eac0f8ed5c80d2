#include "web/internal/ingest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/crypto.h"
#include "common/files.h"
#include "vision/image_header.h"

namespace sparkify::web::internal {

namespace {

// `partial`: the bytes are only the file's beginning, so scan data cut short is expected.
ImageCheck CheckHeader(std::string_view bytes, bool partial) {
  ImageCheck out;
  if (!vision::SniffImageFormat(bytes)) {
    out.status = Status::InvalidArgument("not a JPEG, PNG or WebP image");
    out.error = {"unsupported_type", "This file is not a JPEG, PNG or WebP image."};
    return out;
  }
  auto header = vision::ParseImageHeader(bytes);
  if (!header.ok() || (header->truncated && !partial)) {
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

ImageCheck Refused(std::string code, std::string message) {
  ImageCheck out;
  out.status = Status::InvalidArgument(message);
  out.error = {std::move(code), std::move(message)};
  return out;
}

}  // namespace

ImageCheck CheckImage(std::string_view bytes) { return CheckHeader(bytes, false); }

std::string SizeText(uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Result<ImageCheck> InspectStoredCover(Bucket& bucket, const std::string& key,
                                      uint64_t max_file_bytes) {
  // Most headers lie in the first 64 KiB; a JPEG with large EXIF, ICC or XMP blocks may reach
  // further, so a header cut short by a window is read again in the next, up to the whole
  // file (at most max_file_bytes).
  const uint64_t windows[] = {64 << 10, 1 << 20, std::max<uint64_t>(max_file_bytes, 1 << 20)};
  ImageCheck check;
  for (uint64_t window : windows) {
    SPARKIFY_ASSIGN_OR_RETURN(auto prefix, bucket.ReadPrefix(key, window));
    if (!prefix) return Refused("not_uploaded", "This file did not reach the image store.");
    if (prefix->size == 0) return Refused("bad_image", "This file is empty.");
    if (prefix->size > max_file_bytes) {
      return Refused("too_large", "This file is larger than " + SizeText(max_file_bytes) + ".");
    }
    const bool whole = prefix->bytes.size() >= prefix->size;
    check = CheckHeader(prefix->bytes, !whole);
    // A header cut by the window is not known to be damaged until the larger one says so.
    if (!whole && check.error.code == "bad_image" && window != windows[2]) continue;
    if (!check.status.ok()) return check;
    // The form fixed the stored Content-Type to the one the key's extension says; the bytes
    // must agree, or the browser would be shown one type as another.
    if (!key.ends_with("." + check.info.ext) || prefix->content_type != check.info.content_type) {
      return Refused("unsupported_type", "This file is not the kind of image its type says (" +
                                             prefix->content_type + ").");
    }
    break;
  }
  return check;
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
