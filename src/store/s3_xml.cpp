#include "store/internal/s3_xml.h"

#include <pugixml.hpp>

#include <charconv>
#include <cstring>
#include <iterator>

#include "store/internal/s3_errors.h"

namespace sparkify::store {
namespace {

Result<pugi::xml_document*> Load(pugi::xml_document* doc, std::string_view xml,
                                 const char* root) {
  // parse_ws_pcdata_single: a key of only spaces (<Key> </Key>) is a key, not an empty one.
  auto parsed =
      doc->load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                       pugi::encoding_utf8);
  if (!parsed) {
    return Status::InvalidArgument(std::string("XML is not well-formed: ") +
                                   parsed.description());
  }
  if (std::strcmp(doc->document_element().name(), root) != 0) {
    return Status::InvalidArgument(std::string("expected a <") + root + "> document");
  }
  return doc;
}

Result<bool> ParseBool(const pugi::xml_node& node, const char* name) {
  std::string_view text = node.child_value(name);
  if (text.empty() && !node.child(name)) return false;
  if (text == "true" || text == "TRUE" || text == "True") return true;
  if (text == "false" || text == "FALSE" || text == "False") return false;
  return Status::InvalidArgument(std::string("<") + name + "> must be true or false");
}

std::string Unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  // Some clients send the XML-escaped quotes literally.
  if (etag.size() >= 12 && etag.substr(0, 6) == "&quot;" &&
      etag.substr(etag.size() - 6) == "&quot;") {
    etag = etag.substr(6, etag.size() - 12);
  }
  return std::string(etag);
}

}  // namespace

Result<std::vector<std::pair<int, std::string>>> ParseCompleteMultipartUpload(
    std::string_view xml) {
  pugi::xml_document doc;
  SPARKIFY_ASSIGN_OR_RETURN(auto* d, Load(&doc, xml, "CompleteMultipartUpload"));
  std::vector<std::pair<int, std::string>> parts;
  for (auto part : d->document_element().children("Part")) {
    std::string_view num = part.child_value("PartNumber");
    int n = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc() || ptr != num.data() + num.size() || n < 1 || n > 10000) {
      return Status::InvalidArgument("PartNumber must be an integer from 1 to 10000");
    }
    if (!part.child("ETag")) return Status::InvalidArgument("every Part needs an ETag");
    parts.emplace_back(n, Unquote(part.child_value("ETag")));
  }
  if (parts.empty()) return Status::InvalidArgument("the part list is empty");
  return parts;
}

Result<DeleteRequest> ParseDeleteObjects(std::string_view xml) {
  pugi::xml_document doc;
  SPARKIFY_ASSIGN_OR_RETURN(auto* d, Load(&doc, xml, "Delete"));
  DeleteRequest req;
  SPARKIFY_ASSIGN_OR_RETURN(req.quiet, ParseBool(d->document_element(), "Quiet"));
  for (auto object : d->document_element().children("Object")) {
    if (!object.child("Key")) return Status::InvalidArgument("every Object needs a Key");
    req.keys.emplace_back(object.child_value("Key"));
    if (req.keys.size() > 1000) {
      return Status::InvalidArgument("at most 1000 keys can be deleted at once");
    }
  }
  if (req.keys.empty()) return Status::InvalidArgument("no Object to delete");
  return req;
}

Result<std::string> ParseCreateBucketConfiguration(std::string_view xml) {
  if (xml.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  pugi::xml_document doc;
  SPARKIFY_ASSIGN_OR_RETURN(auto* d, Load(&doc, xml, "CreateBucketConfiguration"));
  return std::string(d->document_element().child_value("LocationConstraint"));
}

Result<PublicAccessBlock> ParsePublicAccessBlock(std::string_view xml) {
  pugi::xml_document doc;
  SPARKIFY_ASSIGN_OR_RETURN(auto* d, Load(&doc, xml, "PublicAccessBlockConfiguration"));
  auto root = d->document_element();
  PublicAccessBlock b;
  SPARKIFY_ASSIGN_OR_RETURN(b.block_public_acls, ParseBool(root, "BlockPublicAcls"));
  SPARKIFY_ASSIGN_OR_RETURN(b.ignore_public_acls, ParseBool(root, "IgnorePublicAcls"));
  SPARKIFY_ASSIGN_OR_RETURN(b.block_public_policy, ParseBool(root, "BlockPublicPolicy"));
  SPARKIFY_ASSIGN_OR_RETURN(b.restrict_public_buckets, ParseBool(root, "RestrictPublicBuckets"));
  return b;
}

std::string PublicAccessBlockXml(const PublicAccessBlock& b) {
  auto flag = [](bool v) { return v ? "true" : "false"; };
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") +
         "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<BlockPublicAcls>" + flag(b.block_public_acls) + "</BlockPublicAcls>"
         "<IgnorePublicAcls>" + flag(b.ignore_public_acls) + "</IgnorePublicAcls>"
         "<BlockPublicPolicy>" + flag(b.block_public_policy) + "</BlockPublicPolicy>"
         "<RestrictPublicBuckets>" + flag(b.restrict_public_buckets) + "</RestrictPublicBuckets>"
         "</PublicAccessBlockConfiguration>";
}

Result<std::string> ParseEncryptionConfiguration(std::string_view xml) {
  pugi::xml_document doc;
  SPARKIFY_ASSIGN_OR_RETURN(auto* d, Load(&doc, xml, "ServerSideEncryptionConfiguration"));
  auto rules = d->document_element().children("Rule");
  if (std::distance(rules.begin(), rules.end()) != 1) {
    return Status::InvalidArgument("exactly one <Rule> is expected");
  }
  auto by_default = rules.begin()->child("ApplyServerSideEncryptionByDefault");
  std::string algorithm = by_default.child_value("SSEAlgorithm");
  if (algorithm.empty()) {
    return Status::InvalidArgument(
        "the <Rule> needs an <ApplyServerSideEncryptionByDefault> with an <SSEAlgorithm>");
  }
  return algorithm;
}

std::string EncryptionConfigurationXml(std::string_view algorithm) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") +
         "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>" +
         std::string(algorithm) +
         "</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
         "<BucketKeyEnabled>false</BucketKeyEnabled></Rule>"
         "</ServerSideEncryptionConfiguration>";
}

}  // namespace sparkify::store
