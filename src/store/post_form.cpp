#include "store/internal/post_form.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/strings.h"

namespace sparkify::store {
namespace {

using json = nlohmann::json;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxPartHead = 4096;  // one part's headers

S3Error Malformed(std::string why = {}) {
  return S3Error{S3ErrorCode::kMalformedPOSTRequest, std::move(why)};
}

// A parameter of a header value such as `form-data; name="key"; filename="a b.png"`. Quoted
// strings are read as browsers write them (WHATWG): a backslash is a plain character, a ';'
// inside quotes does not end the parameter.
std::optional<std::string> Parameter(std::string_view value, std::string_view name) {
  size_t at = value.find(';');
  while (at != std::string_view::npos) {
    size_t i = at + 1;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    size_t eq = value.find('=', i);
    size_t semi = value.find(';', i);
    if (eq == std::string_view::npos) return std::nullopt;
    if (semi != std::string_view::npos && semi < eq) {  // a parameter without a value
      at = semi;
      continue;
    }
    std::string_view key = TrimSpaceAndTab(value.substr(i, eq - i));
    size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string text;
    size_t next;
    if (v < value.size() && value[v] == '"') {
      size_t close = value.find('"', v + 1);
      if (close == std::string_view::npos) return std::nullopt;  // no closing quote
      text = std::string(value.substr(v + 1, close - v - 1));
      next = value.find(';', close);
    } else {
      next = value.find(';', v);
      text = std::string(TrimSpaceAndTab(
          value.substr(v, next == std::string_view::npos ? std::string_view::npos : next - v)));
    }
    if (EqualsIgnoreCase(key, name)) return text;
    at = next;
  }
  return std::nullopt;
}

struct PartHead {
  std::string name;
  std::optional<std::string> filename;
};

std::optional<PartHead> ParsePartHead(std::string_view head) {
  PartHead out;
  bool disposition = false;
  while (!head.empty()) {
    size_t end = head.find("\r\n");
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    std::string_view value = TrimSpaceAndTab(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) {
      if (!AsciiLowerString(value).starts_with("form-data")) return std::nullopt;
      auto field = Parameter(value, "name");
      if (!field) return std::nullopt;
      out.name = AsciiLowerString(*field);
      out.filename = Parameter(value, "filename");
      disposition = true;
    }
  }
  if (!disposition) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> FormBoundary(std::string_view content_type) {
  std::string_view type = TrimSpaceAndTab(content_type.substr(0, content_type.find(';')));
  if (!EqualsIgnoreCase(type, "multipart/form-data")) return std::nullopt;
  auto boundary = Parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  return boundary;
}

PostFormReader::PostFormReader(http::BodySource* body, std::string boundary)
    : body_(body), boundary_line_("--" + boundary), delimiter_("\r\n--" + boundary) {}

bool PostFormReader::Fill() {
  if (error_) return false;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // keep the buffer from growing
    buf_.erase(0, pos_);
    erased_ += pos_;
    pos_ = 0;
  }
  scratch_.resize(kReadChunk);
  auto n = body_->Read(scratch_.data(), scratch_.size());
  if (!n.ok()) {
    error_ = FromStatus(n.status());
    return false;
  }
  buf_.append(scratch_.data(), *n);
  return *n > 0;
}

std::optional<size_t> PostFormReader::Find(std::string_view text, size_t limit) {
  size_t from = 0;
  for (;;) {
    std::string_view window = std::string_view(buf_).substr(pos_, limit);
    size_t at = window.find(text, from);
    if (at != std::string_view::npos) return at;
    if (window.size() >= limit) return std::nullopt;
    from = window.size() >= text.size() ? window.size() - text.size() + 1 : 0;
    if (!Fill()) return std::nullopt;
  }
}

std::optional<S3Error> PostFormReader::ReadFields(PostForm* form) {
  // The first boundary line (a preamble before it is allowed, and ignored).
  auto first = Find(boundary_line_, kMaxPostFieldBytes);
  if (!first) return error_ ? *error_ : Malformed();
  pos_ += *first + boundary_line_.size();
  for (;;) {
    if (erased_ + pos_ > kMaxPostFieldBytes) {
      return S3Error{S3ErrorCode::kMaxPostPreDataLengthExceeded, ""};
    }
    while (buf_.size() - pos_ < 2 && Fill()) {
    }
    if (buf_.size() - pos_ < 2) return error_ ? *error_ : Malformed();
    if (std::string_view(buf_).substr(pos_, 2) == "--") {  // the closing boundary: no file
      return S3Error{S3ErrorCode::kInvalidArgument,
                     "POST requires exactly one file upload per request."};
    }
    auto head_end = Find("\r\n\r\n", kMaxPartHead);
    if (!head_end) return error_ ? *error_ : Malformed("a part's headers are malformed");
    // The part head starts after the boundary line's own CRLF; only spaces and tabs
    // (transport padding) may come between the boundary and that CRLF.
    std::string_view head = std::string_view(buf_).substr(pos_, *head_end);
    size_t crlf = head.find("\r\n");
    if (crlf == std::string_view::npos ||
        head.substr(0, crlf).find_first_not_of(" \t") != std::string_view::npos) {
      return Malformed();
    }
    auto part = ParsePartHead(head.substr(crlf + 2));
    if (!part) return Malformed("a part lacks a valid Content-Disposition: form-data");
    pos_ += *head_end + 4;
    if (part->name == "file") {
      form->file_name = part->filename.value_or("");
      return std::nullopt;
    }
    auto value_end = Find(delimiter_, kMaxPostFieldBytes);
    if (!value_end) {
      if (error_) return *error_;
      if (pos_ + kMaxPostFieldBytes <= buf_.size()) {
        return S3Error{S3ErrorCode::kMaxPostPreDataLengthExceeded, ""};
      }
      return Malformed();
    }
    std::string value = buf_.substr(pos_, *value_end);
    if (!form->fields.emplace(part->name, std::move(value)).second) {
      return S3Error{S3ErrorCode::kInvalidArgument,
                     "the form field '" + part->name + "' appears more than once"};
    }
    pos_ += *value_end + delimiter_.size();
  }
}

std::optional<S3Error> PostFormReader::ReadFile(
    const std::function<std::optional<S3Error>(std::string_view)>& write) {
  for (;;) {
    std::string_view window = std::string_view(buf_).substr(pos_);
    size_t at = window.find(delimiter_);
    if (at != std::string_view::npos) return write(window.substr(0, at));
    // All but what could be the start of the delimiter is file data.
    size_t safe = window.size() >= delimiter_.size() ? window.size() - delimiter_.size() + 1 : 0;
    if (safe > 0) {
      if (auto err = write(window.substr(0, safe))) return err;
      pos_ += safe;
    }
    if (!Fill()) return error_ ? *error_ : Malformed("the body ends inside the file");
  }
}

namespace {

Result<PostPolicy::Condition> ParseCondition(const json& c) {
  PostPolicy::Condition out;
  out.text = c.dump();
  if (c.is_object()) {
    if (c.size() != 1 || !c.begin().value().is_string()) {
      return Status::InvalidArgument("a condition object holds one field and its string value");
    }
    out.field = AsciiLowerString(c.begin().key());
    if (out.field.starts_with('$')) out.field.erase(0, 1);
    out.value = c.begin().value().get<std::string>();
    return out;
  }
  if (!c.is_array() || c.size() != 3 || !c[0].is_string()) {
    return Status::InvalidArgument("a condition is an object or a three-element array");
  }
  const std::string op = AsciiLowerString(c[0].get<std::string>());
  if (op == "content-length-range") {
    if (!c[1].is_number_unsigned() || !c[2].is_number_unsigned() ||
        c[1].get<uint64_t>() > c[2].get<uint64_t>()) {
      return Status::InvalidArgument("content-length-range needs two sizes, min <= max");
    }
    out.kind = PostPolicy::Condition::Kind::kLengthRange;
    out.min = c[1].get<uint64_t>();
    out.max = c[2].get<uint64_t>();
    return out;
  }
  if ((op != "eq" && op != "starts-with") || !c[1].is_string() || !c[2].is_string() ||
      !c[1].get<std::string>().starts_with('$')) {
    return Status::InvalidArgument("unknown condition " + out.text);
  }
  out.kind =
      op == "eq" ? PostPolicy::Condition::Kind::kEq : PostPolicy::Condition::Kind::kStartsWith;
  out.field = AsciiLowerString(c[1].get<std::string>().substr(1));
  out.value = c[2].get<std::string>();
  return out;
}

bool Exempt(const std::string& field) {
  return field == "x-amz-signature" || field == "policy" || field == "file" ||
         field.starts_with("x-ignore-");
}

}  // namespace

Result<PostPolicy> ParsePostPolicy(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("Invalid Policy: Invalid JSON.");
  }
  PostPolicy policy;
  auto expiration = doc.find("expiration");
  if (expiration == doc.end() || !expiration->is_string()) {
    return Status::InvalidArgument("Invalid Policy: Policy missing expiration.");
  }
  auto when = ParseIso8601(expiration->get<std::string>());
  if (!when) return Status::InvalidArgument("Invalid Policy: Invalid 'expiration' value.");
  policy.expiration = *when;
  auto conditions = doc.find("conditions");
  if (conditions == doc.end() || !conditions->is_array()) {
    return Status::InvalidArgument("Invalid Policy: Policy missing conditions.");
  }
  for (const json& c : *conditions) {
    auto condition = ParseCondition(c);
    if (!condition.ok()) {
      return Status::InvalidArgument("Invalid Policy: " + condition.status().message());
    }
    policy.conditions.push_back(std::move(*condition));
  }
  return policy;
}

std::optional<S3Error> CheckPostPolicy(const PostPolicy& policy, const PostForm& form,
                                       std::string_view bucket, TimePoint now) {
  auto denied = [](const std::string& why) {
    return S3Error{S3ErrorCode::kAccessDenied, "Invalid according to Policy: " + why};
  };
  if (now >= policy.expiration) return denied("Policy expired.");
  std::vector<std::string> named;
  for (const auto& c : policy.conditions) {
    if (c.kind == PostPolicy::Condition::Kind::kLengthRange) continue;
    named.push_back(c.field);
    std::string_view actual;
    if (c.field == "bucket") {
      actual = bucket;
    } else if (auto it = form.fields.find(c.field); it != form.fields.end()) {
      actual = it->second;
    } else if (!(c.kind == PostPolicy::Condition::Kind::kStartsWith && c.value.empty())) {
      return denied("Policy Condition failed: " + c.text);
    }
    const bool holds = c.kind == PostPolicy::Condition::Kind::kEq ? actual == c.value
                                                                  : actual.starts_with(c.value);
    if (!holds) return denied("Policy Condition failed: " + c.text);
  }
  std::string extra;
  for (const auto& [field, value] : form.fields) {
    if (Exempt(field) || std::find(named.begin(), named.end(), field) != named.end()) continue;
    extra += (extra.empty() ? "" : ", ") + field;
  }
  if (!extra.empty()) return denied("Extra input fields: " + extra);
  return std::nullopt;
}

std::optional<std::pair<uint64_t, uint64_t>> LengthRange(const PostPolicy& policy) {
  for (const auto& c : policy.conditions) {
    if (c.kind == PostPolicy::Condition::Kind::kLengthRange) return std::make_pair(c.min, c.max);
  }
  return std::nullopt;
}

}  // namespace sparkify::store
