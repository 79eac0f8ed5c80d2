// Direct uploads: the page asks for one signed POST form per file and sends the files to the
// bucket itself (S3 POST Object), then makes a job of the keys. The web app never carries the
// bytes; it checks each stored file's header when the job runs (InspectStoredCover).
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/crypto.h"
#include "web/internal/app.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

constexpr std::string_view kDirectPrefix = "uploads/direct/";
// How long a form may wait before its file is sent: time to read the files and start.
constexpr int64_t kUploadFormSeconds = 900;

// The extension a declared type is stored under; empty for a type the app does not take.
std::string ExtensionFor(std::string_view content_type) {
  if (content_type == "image/jpeg") return "jpg";
  if (content_type == "image/png") return "png";
  if (content_type == "image/webp") return "webp";
  return "";
}

// "uploads/direct/<32 hex>.<jpg|png|webp>": the keys UploadForms hands out, and only those.
bool ValidDirectKey(std::string_view key) {
  if (!key.starts_with(kDirectPrefix)) return false;
  key.remove_prefix(kDirectPrefix.size());
  if (key.size() < 33 || key[32] != '.') return false;
  for (char c : key.substr(0, 32)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::string_view ext = key.substr(33);
  return ext == "jpg" || ext == "png" || ext == "webp";
}

// Proof that this app (any replica holding the secret) handed `key` out: 16 bytes of an HMAC.
std::string UploadToken(std::string_view upload_key, std::string_view key) {
  return Base64UrlEncode(HmacSha256(upload_key, "upload|" + std::string(key)).substr(0, 16));
}

// Why one file of an upload request cannot have a form; nullopt when it can.
std::optional<ApiError> FileProblem(const json& file, uint64_t max_file_bytes) {
  const json& size = JsonMember(file, "size");
  if (!size.is_number_unsigned()) {
    return ApiError{"bad_request", "Each file needs its size in bytes."};
  }
  if (size.get<uint64_t>() == 0) return ApiError{"bad_image", "This file is empty."};
  if (size.get<uint64_t>() > max_file_bytes) {
    return ApiError{"too_large", "This file is larger than " + SizeText(max_file_bytes) + "."};
  }
  if (ExtensionFor(JsonString(file, "type")).empty()) {
    return ApiError{"unsupported_type", "This file is not a JPEG, PNG or WebP image."};
  }
  return std::nullopt;
}

}  // namespace

http::Response App::UploadForms(http::Request& req) {
  if (!options_.direct_uploads) {
    return ErrorResponse(404, "not_found", "Direct uploads are off: send the files to /api/jobs.");
  }
  json doc;
  if (auto refused = ReadJsonObject(req, options_.max_json_bytes, &doc)) return *refused;
  const json& files = JsonMember(doc, "files");
  if (!files.is_array() || files.empty()) {
    return ErrorResponse(400, "bad_request",
                         "files must be a non-empty list of {name, type, size}.");
  }
  if (files.size() > static_cast<size_t>(options_.max_files)) {
    return ErrorResponse(413, "too_many_files",
                         "At most " + std::to_string(options_.max_files) + " covers at a time.");
  }
  // Every entry is read before anything is spent: a malformed one refuses the request.
  std::vector<std::optional<ApiError>> problems;
  std::vector<std::string> codes;
  std::vector<std::string> reasons;
  for (const json& file : files) {
    if (!file.is_object()) {
      return ErrorResponse(400, "bad_request",
                           "files must hold objects (found: " + JsonTypeName(file) + ").");
    }
    problems.push_back(FileProblem(file, options_.max_file_bytes));
    if (!problems.back()) continue;
    if (problems.back()->code == "bad_request") {
      return ErrorResponse(400, "bad_request", problems.back()->message);
    }
    codes.push_back(problems.back()->code);
    reasons.push_back(ShortName(JsonString(file, "name", "upload")) + ": " +
                      problems.back()->message);
  }
  if (codes.size() == files.size()) return NoneUsable(codes, reasons);
  const int forms = static_cast<int>(files.size() - codes.size());
  if (auto refused = budget_.UploadForms(req.remote_ip, forms)) return TooMany(*refused);

  const TimePoint expires = Clock::System().Now() + std::chrono::seconds(kUploadFormSeconds);
  json uploads = json::array();
  for (size_t i = 0; i < files.size(); ++i) {
    json entry = {{"name", ShortName(JsonString(files[i], "name", "upload"))}};
    if (const auto& problem = problems[i]) {
      entry["error"] = {{"code", problem->code}, {"message", problem->message}};
      uploads.push_back(std::move(entry));
      continue;
    }
    const std::string type = JsonString(files[i], "type");
    std::string key(kDirectPrefix);
    key += HexEncode(RandomBytes(16));
    key += '.';
    key += ExtensionFor(type);
    auto form = bucket_.SignUpload(key, type, options_.max_file_bytes, kUploadFormSeconds);
    if (!form.ok()) {
      return StoreErrorResponse("Cannot prepare the upload.", form.status());
    }
    json fields = json::array();
    for (const auto& field : form->fields) fields.push_back({field.first, field.second});
    entry["key"] = key;
    entry["token"] = UploadToken(upload_key_, key);
    entry["url"] = form->url;
    entry["fields"] = std::move(fields);
    uploads.push_back(std::move(entry));
  }
  return JsonResponse(200, {{"expires_at", FormatIso8601(expires)}, {"uploads", uploads}});
}

std::optional<http::Response> App::StoredSources(const json& uploads,
                                                 std::vector<CoverSource>* sources) const {
  if (!options_.direct_uploads) {
    return ErrorResponse(400, "bad_request", "Direct uploads are off: send the files themselves.");
  }
  if (!uploads.is_array() || uploads.empty()) {
    return ErrorResponse(400, "bad_request", "uploads must be a non-empty list of {key, name}.");
  }
  if (uploads.size() > static_cast<size_t>(options_.max_files)) {
    return ErrorResponse(413, "too_many_files",
                         "At most " + std::to_string(options_.max_files) + " covers at a time.");
  }
  for (const json& upload : uploads) {
    const std::string key = JsonString(upload, "key");
    // Only keys this app handed out (any replica: the token's key is shared): a key seen
    // elsewhere, in a signed preview URL say, does not make a job without its token.
    if (!ValidDirectKey(key) ||
        !ConstantTimeEquals(JsonString(upload, "token"), UploadToken(upload_key_, key))) {
      return ErrorResponse(400, "bad_request",
                           "Each upload needs the key and token its form came with.");
    }
    CoverSource source;
    source.name = ShortName(JsonString(upload, "name", "upload"));
    source.stored_key = key;
    sources->push_back(std::move(source));
  }
  return std::nullopt;
}

}  // namespace sparkify::web::internal
