// ListObjects (V1) and ListObjectsV2.
#include <charconv>

#include "common/crypto.h"
#include "common/uri.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {

namespace {

// A ListObjects request's query, read and checked.
struct ListObjectsQuery {
  diskstore::ListOptions opts;
  bool url = false;                // encoding-type=url
  std::string token, start_after;  // V2's continuation-token and start-after, as sent
};

// Reads and checks the query parameters into `q`: max-keys, encoding-type, and the position
// (V2: start-after or continuation-token; V1: marker).
std::optional<S3Error> ReadListQuery(const S3Call& call, bool v2, ListObjectsQuery* q) {
  diskstore::ListOptions& opts = q->opts;
  opts.prefix = std::string(call.Query("prefix"));
  opts.delimiter = std::string(call.Query("delimiter"));
  if (call.HasQuery("max-keys")) {
    std::string_view s = call.Query("max-keys");
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
      return S3Error{S3ErrorCode::kInvalidArgument, "max-keys must be a non-negative integer"};
    }
    opts.max_keys = std::min(v, 1000);
  }
  q->url = call.HasQuery("encoding-type");
  if (q->url && call.Query("encoding-type") != "url") {
    return S3Error{S3ErrorCode::kInvalidArgument, "Invalid Encoding Method specified in Request"};
  }

  std::string& token = q->token;
  std::string& start_after = q->start_after;
  if (v2) {
    start_after = std::string(call.Query("start-after"));
    opts.start_after = start_after;
    // An empty token is no token (S3 lists from the start).
    if (!call.Query("continuation-token").empty()) {
      token = std::string(call.Query("continuation-token"));
      auto pos = Base64Decode(token);
      if (!pos || pos->empty()) {
        return S3Error{S3ErrorCode::kInvalidArgument,
                       "The continuation token provided is incorrect"};
      }
      opts.start_after = *pos;
    }
  } else {
    opts.start_after = std::string(call.Query("marker"));
  }
  return std::nullopt;
}

// Renders the ListBucketResult (V1 or V2) of a listing made with `q`.
std::string ListBucketResultXml(const S3Call& call, bool v2, const ListObjectsQuery& q,
                                const diskstore::ListResult& result) {
  const diskstore::ListOptions& opts = q.opts;
  const std::string& token = q.token;
  const std::string& start_after = q.start_after;
  const bool url = q.url;
  auto enc = [url](std::string_view s) {
    return XmlEscape(url ? UriEncode(s, true) : std::string(s));
  };

  std::string xml = std::string(kXmlHeader) + "<ListBucketResult xmlns=\"" +
                    std::string(kS3Namespace) + "\"><Name>" + XmlEscape(call.bucket) +
                    // V1's Prefix is never URL-encoded (S3 encodes only Delimiter, Marker,
                    // NextMarker and the keys there; botocore decodes just those).
                    "</Name><Prefix>" + (v2 ? enc(opts.prefix) : XmlEscape(opts.prefix)) +
                    "</Prefix>";
  if (v2) {
    if (!token.empty()) xml += "<ContinuationToken>" + XmlEscape(token) + "</ContinuationToken>";
    if (!start_after.empty()) xml += "<StartAfter>" + enc(start_after) + "</StartAfter>";
    xml += "<KeyCount>" + std::to_string(result.objects.size() + result.common_prefixes.size()) +
           "</KeyCount>";
  } else {
    xml += "<Marker>" + enc(call.Query("marker")) + "</Marker>";
  }
  xml += "<MaxKeys>" + std::to_string(opts.max_keys) + "</MaxKeys>";
  if (!opts.delimiter.empty()) xml += "<Delimiter>" + enc(opts.delimiter) + "</Delimiter>";
  if (url) xml += "<EncodingType>url</EncodingType>";
  xml += std::string("<IsTruncated>") + (result.truncated ? "true" : "false") + "</IsTruncated>";
  if (result.truncated) {
    if (v2) {
      xml += "<NextContinuationToken>" + Base64Encode(result.last_key) + "</NextContinuationToken>";
    } else if (!opts.delimiter.empty()) {
      xml += "<NextMarker>" + enc(result.last_key) + "</NextMarker>";
    }
  }
  bool owner = !v2 || call.Query("fetch-owner") == "true";
  for (const auto& o : result.objects) {
    xml += "<Contents><Key>" + enc(o.key) + "</Key><LastModified>" +
           FormatIso8601(o.last_modified) + "</LastModified><ETag>" + XmlEscape(QuoteEtag(o.etag)) +
           "</ETag><Size>" + std::to_string(o.size) + "</Size>";
    if (owner) {
      xml += "<Owner><ID>" + std::string(iam::kAccountId) +
             "</ID><DisplayName>sparkify</DisplayName></Owner>";
    }
    xml += "<StorageClass>STANDARD</StorageClass></Contents>";
  }
  for (const auto& p : result.common_prefixes) {
    xml += "<CommonPrefixes><Prefix>" + enc(p) + "</Prefix></CommonPrefixes>";
  }
  xml += "</ListBucketResult>";
  return xml;
}

}  // namespace

// Checks the bucket and the query, lists, and answers with the ListBucketResult.
Reply S3Service::Impl::ListObjects(S3Call& call, bool v2) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  ListObjectsQuery q;
  if (auto err = ReadListQuery(call, v2, &q)) return Error(call, *err);
  // A position equal to a common prefix continues after that whole group (DiskStore::List).
  auto result = store()->List(call.bucket, q.opts);
  if (!result.ok()) return StoreError(call, result.status());
  return Xml(call, ListBucketResultXml(call, v2, q, *result));
}

}  // namespace sparkify::store
