// Manifest parsing: every field is read through a typed getter that names the field on error,
// so a broken manifest is reported precisely at load time, never half-used.
#include "vision/manifest.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/files.h"

namespace sparkify::vision {
namespace {

using nlohmann::json;

Status Bad(std::string_view field, std::string_view problem) {
  return Status::InvalidArgument("model manifest: " + std::string(field) + " " +
                                 std::string(problem));
}

Result<const json*> Field(const json& obj, const std::string& parent, const char* key) {
  const std::string path = parent.empty() ? key : parent + "." + key;
  auto it = obj.find(key);
  if (it == obj.end()) return Bad(path, "is missing");
  return &*it;
}

Result<std::string> GetString(const json& obj, const std::string& parent, const char* key) {
  SPARKIFY_ASSIGN_OR_RETURN(const json* v, Field(obj, parent, key));
  if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
    return Bad(parent.empty() ? key : parent + "." + key, "must be a non-empty string");
  }
  return v->get<std::string>();
}

Result<double> GetNumber(const json& obj, const std::string& parent, const char* key) {
  SPARKIFY_ASSIGN_OR_RETURN(const json* v, Field(obj, parent, key));
  if (!v->is_number() || !std::isfinite(v->get<double>())) {
    return Bad(parent + "." + key, "must be a finite number");
  }
  return v->get<double>();
}

Result<int> GetInt(const json& obj, const std::string& parent, const char* key, int min) {
  SPARKIFY_ASSIGN_OR_RETURN(const json* v, Field(obj, parent, key));
  if (!v->is_number_integer() || v->get<int64_t>() < min ||
      v->get<int64_t>() > std::numeric_limits<int>::max()) {
    return Bad(parent + "." + key, "must be an integer >= " + std::to_string(min));
  }
  return static_cast<int>(v->get<int64_t>());
}

Result<std::array<double, 3>> GetTriple(const json& obj, const char* key) {
  SPARKIFY_ASSIGN_OR_RETURN(const json* v, Field(obj, "input", key));
  std::array<double, 3> out{};
  if (!v->is_array() || v->size() != 3)
    return Bad(std::string("input.") + key, "must have 3 numbers");
  for (size_t i = 0; i < 3; ++i) {
    if (!(*v)[i].is_number()) return Bad(std::string("input.") + key, "must have 3 numbers");
    out[i] = (*v)[i].get<double>();
  }
  return out;
}

Status Expect(const json& obj, const std::string& parent, const char* key,
              std::string_view wanted) {
  SPARKIFY_ASSIGN_OR_RETURN(std::string value, GetString(obj, parent, key));
  if (value != wanted) {
    return Bad(parent + "." + key,
               "is \"" + value + "\"; only \"" + std::string(wanted) + "\" is supported");
  }
  return Status::OK();
}

bool SafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

Result<ModelManifest::Input> ParseInput(const json& in) {
  ModelManifest::Input input;
  SPARKIFY_ASSIGN_OR_RETURN(input.name, GetString(in, "input", "name"));
  SPARKIFY_RETURN_IF_ERROR(Expect(in, "input", "layout", "NCHW"));
  SPARKIFY_RETURN_IF_ERROR(Expect(in, "input", "dtype", "float32"));
  SPARKIFY_RETURN_IF_ERROR(Expect(in, "input", "resize", "stretch"));
  SPARKIFY_ASSIGN_OR_RETURN(std::string order, GetString(in, "input", "channel_order"));
  if (order != "RGB" && order != "BGR") return Bad("input.channel_order", "must be RGB or BGR");
  input.rgb = order == "RGB";
  SPARKIFY_ASSIGN_OR_RETURN(input.scale, GetNumber(in, "input", "scale"));
  SPARKIFY_ASSIGN_OR_RETURN(input.mean, GetTriple(in, "mean"));
  SPARKIFY_ASSIGN_OR_RETURN(input.std, GetTriple(in, "std"));
  for (double s : input.std) {
    if (s == 0) return Bad("input.std", "must not contain 0");
  }
  SPARKIFY_ASSIGN_OR_RETURN(input.default_size, GetInt(in, "input", "default_size", 1));
  SPARKIFY_ASSIGN_OR_RETURN(input.size_multiple, GetInt(in, "input", "size_multiple", 1));
  if (input.default_size % input.size_multiple != 0) {
    return Bad("input.default_size", "must be a multiple of input.size_multiple");
  }
  SPARKIFY_ASSIGN_OR_RETURN(const json* fixed, Field(in, "input", "fixed_size"));
  if (!fixed->is_boolean()) return Bad("input.fixed_size", "must be true or false");
  input.fixed_size = fixed->get<bool>();
  return input;
}

Result<ModelManifest::Output> ParseOutput(const json& out) {
  ModelManifest::Output output;
  SPARKIFY_ASSIGN_OR_RETURN(output.name, GetString(out, "output", "name"));
  SPARKIFY_ASSIGN_OR_RETURN(std::string kind, GetString(out, "output", "kind"));
  if (kind == "saliency") {
    output.kind = ModelManifest::OutputKind::kSaliency;
    SPARKIFY_ASSIGN_OR_RETURN(std::string activation, GetString(out, "output", "activation"));
    if (activation != "none" && activation != "sigmoid") {
      return Bad("output.activation", "must be none or sigmoid");
    }
    output.sigmoid = activation == "sigmoid";
    SPARKIFY_ASSIGN_OR_RETURN(std::string normalise, GetString(out, "output", "normalise"));
    if (normalise != "none" && normalise != "minmax") {
      return Bad("output.normalise", "must be none or minmax");
    }
    output.minmax = normalise == "minmax";
    return output;
  }
  if (kind == "softmax") {
    output.kind = ModelManifest::OutputKind::kSoftmax;
  } else if (kind == "argmax") {
    output.kind = ModelManifest::OutputKind::kArgmax;
  } else {
    return Bad("output.kind", "must be saliency, softmax or argmax");
  }
  if (out.contains("num_classes")) {
    SPARKIFY_ASSIGN_OR_RETURN(output.num_classes, GetInt(out, "output", "num_classes", 1));
  }
  SPARKIFY_ASSIGN_OR_RETURN(const json* classes, Field(out, "output", "foreground_classes"));
  if (!classes->is_array() || classes->empty()) {
    return Bad("output.foreground_classes", "must be a non-empty array of class indices");
  }
  for (const json& c : *classes) {
    if (!c.is_number_integer() || c.get<int64_t>() < 0 ||
        (output.num_classes > 0 && c.get<int64_t>() >= output.num_classes) ||
        c.get<int64_t>() > 65535) {
      return Bad("output.foreground_classes", "has an index outside the model's classes");
    }
    output.foreground_classes.push_back(static_cast<int>(c.get<int64_t>()));
  }
  return output;
}

}  // namespace

Result<ModelManifest> ParseManifest(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("model manifest: not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("model manifest: not a JSON object");
  ModelManifest m;
  SPARKIFY_ASSIGN_OR_RETURN(std::string format, GetString(doc, "", "format"));
  if (format == "sparkify-model/1") {
    return Bad("format", "is \"sparkify-model/1\" (an ONNX model for OpenCV); this version runs "
                         "\"sparkify-model/2\" graphs: prepare the model again with "
                         "tools/model/prepare-model.sh (scripts/setup.sh does)");
  }
  if (format != "sparkify-model/2") {
    return Bad("format", "is \"" + format + "\"; only \"sparkify-model/2\" is supported");
  }
  SPARKIFY_ASSIGN_OR_RETURN(m.name, GetString(doc, "", "name"));
  SPARKIFY_ASSIGN_OR_RETURN(m.file, GetString(doc, "", "file"));
  if (!SafeRelativePath(m.file)) return Bad("file", "must be a path inside the model's folder");
  SPARKIFY_ASSIGN_OR_RETURN(m.sha256, GetString(doc, "", "sha256"));
  if (m.sha256.size() != 64 ||
      m.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Bad("sha256", "must be 64 lowercase hex digits");
  }
  SPARKIFY_ASSIGN_OR_RETURN(const json* size, Field(doc, "", "size"));
  if (!size->is_number_unsigned() || size->get<uint64_t>() == 0) {
    return Bad("size", "must be a positive integer");
  }
  m.size = size->get<uint64_t>();
  SPARKIFY_ASSIGN_OR_RETURN(const json* input, Field(doc, "", "input"));
  if (!input->is_object()) return Bad("input", "must be an object");
  SPARKIFY_ASSIGN_OR_RETURN(m.input, ParseInput(*input));
  SPARKIFY_ASSIGN_OR_RETURN(const json* output, Field(doc, "", "output"));
  if (!output->is_object()) return Bad("output", "must be an object");
  SPARKIFY_ASSIGN_OR_RETURN(m.output, ParseOutput(*output));
  if (doc.contains("precisions")) {
    const json& p = doc["precisions"];
    if (!p.is_array() || p.empty()) return Bad("precisions", "must be a non-empty list");
    m.precisions.clear();
    for (const json& e : p) {
      if (!e.is_string() || (e != "fp32" && e != "fast" && e != "bf16")) {
        return Bad("precisions", "may hold only \"fp32\", \"fast\" and \"bf16\"");
      }
      m.precisions.push_back(e.get<std::string>());
    }
    if (std::find(m.precisions.begin(), m.precisions.end(), "fp32") == m.precisions.end()) {
      return Bad("precisions", "must include \"fp32\"");
    }
  }
  if (doc.contains("licence") && doc["licence"].is_string()) {
    m.licence = doc["licence"].get<std::string>();
  }
  return m;
}

Status CheckInputSize(const ModelManifest& manifest, int size) {
  const ModelManifest::Input& in = manifest.input;
  if (in.fixed_size && size != in.default_size) {
    return Status::InvalidArgument("input size " + std::to_string(size) + ": model " +
                                   manifest.name + " only runs at " +
                                   std::to_string(in.default_size));
  }
  if (size <= 0 || size > kMaxInputSize || size % in.size_multiple != 0) {
    return Status::InvalidArgument(
        "input size " + std::to_string(size) + " is not a positive multiple of " +
        std::to_string(in.size_multiple) + " up to " + std::to_string(kMaxInputSize));
  }
  return Status::OK();
}

Status CheckPrecision(const ModelManifest& manifest, const std::string& precision) {
  const auto& offered = manifest.precisions;
  if (std::find(offered.begin(), offered.end(), precision) != offered.end()) return Status::OK();
  std::string list;
  for (const auto& p : offered) list += (list.empty() ? "" : ", ") + p;
  return Status::InvalidArgument("model " + manifest.name + " is not offered in precision " +
                                 precision + " (its manifest offers " + list +
                                 ": the others failed its quality gate)");
}

Result<ModelManifest> LoadManifest(const std::string& path) {
  Result<std::string> text = ReadFileToString(path, 1 << 20);
  if (!text.ok()) {
    const Status& s = text.status();
    const std::string msg = "model manifest " + path + ": " + s.message();
    return s.IsNotFound() ? Status::NotFound(msg) : Status::IOError(msg);
  }
  return ParseManifest(*text);
}

std::string ModelFilePath(const std::string& manifest_path, const ModelManifest& manifest) {
  const size_t slash = manifest_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : manifest_path.substr(0, slash);
  return dir + "/" + manifest.file;
}

}  // namespace sparkify::vision
