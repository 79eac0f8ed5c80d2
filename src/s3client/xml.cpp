#include "s3client/internal/xml.h"

#include <pugixml.hpp>

#include <charconv>

#include "common/uri.h"

namespace sparkify::s3client::internal {
namespace {

bool Load(std::string_view body, pugi::xml_document* doc) {
  return doc->load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
}

std::string Text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

std::optional<uint64_t> ToU64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// S3's "url" encoding of listing fields is form style: '+' for a space.
std::optional<std::string> Decode(const std::string& s, bool url_encoded) {
  if (!url_encoded) return s;
  return UriDecode(s, true);
}

}  // namespace

std::optional<ErrorDocument> ParseErrorDocument(std::string_view body) {
  pugi::xml_document doc;
  if (!Load(body, &doc)) return std::nullopt;
  pugi::xml_node error = doc.child("Error");
  if (!error || error.child("Code").empty()) return std::nullopt;
  return ErrorDocument{Text(error, "Code"), Text(error, "Message")};
}

Result<ListResult> ParseListObjectsV2(std::string_view body) {
  pugi::xml_document doc;
  if (!Load(body, &doc)) return Status::Corruption("the listing is not well-formed XML");
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::Corruption("the listing has no ListBucketResult");
  bool url = Text(root, "EncodingType") == "url";
  ListResult out;
  out.is_truncated = Text(root, "IsTruncated") == "true";
  out.next_continuation_token = Text(root, "NextContinuationToken");
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectSummary s;
    auto key = Decode(Text(c, "Key"), url);
    auto size = ToU64(Text(c, "Size"));
    if (!key || !size) return Status::Corruption("the listing has a malformed Contents entry");
    s.key = std::move(*key);
    s.size = *size;
    s.etag = Text(c, "ETag");
    s.storage_class = Text(c, "StorageClass");
    if (auto t = ParseIso8601(Text(c, "LastModified"))) s.last_modified = *t;
    out.objects.push_back(std::move(s));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    auto prefix = Decode(Text(p, "Prefix"), url);
    if (!prefix) return Status::Corruption("the listing has a malformed CommonPrefixes entry");
    out.common_prefixes.push_back(std::move(*prefix));
  }
  return out;
}

std::string CreateBucketConfiguration(std::string_view region) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CreateBucketConfiguration");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  root.append_child("LocationConstraint").text().set(std::string(region).c_str());
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } writer;
  doc.save(writer, "", pugi::format_raw | pugi::format_no_declaration);
  return writer.out;
}

}  // namespace sparkify::s3client::internal
