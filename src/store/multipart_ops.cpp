// Multipart uploads: create, upload part, complete, abort, list parts.
#include <charconv>

#include "common/clock.h"
#include "common/uri.h"
#include "store/internal/body_ingest.h"
#include "store/internal/object_headers.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

std::optional<int> ParsePartNumber(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 10000) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

Reply S3Service::Impl::CreateMultipartUpload(S3Call& call) {
  auto meta = MetaFromHeaders(*call.http);
  if (!meta) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "Your metadata headers exceed the maximum allowed metadata size (2 KB).");
  }
  auto encrypt = EncryptsAtRest(call);
  if (!encrypt.ok()) return StoreError(call, encrypt.status());
  if (*encrypt) meta->server_side_encryption = diskstore::kAes256;
  auto id = store()->CreateUpload(call.bucket, call.key, *meta);
  if (!id.ok()) return StoreError(call, id.status());
  Reply r = Xml(call, std::string(kXmlHeader) + "<InitiateMultipartUploadResult xmlns=\"" +
                          std::string(kS3Namespace) + "\"><Bucket>" + XmlEscape(call.bucket) +
                          "</Bucket><Key>" + XmlEscape(call.key) + "</Key><UploadId>" + *id +
                          "</UploadId></InitiateMultipartUploadResult>");
  SetEncryptionHeader(r, *meta);
  return r;
}

Reply S3Service::Impl::UploadPart(S3Call& call) {
  auto part = ParsePartNumber(call.Query("partNumber"));
  if (!part) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "Part number must be an integer between 1 and 10000, inclusive");
  }
  std::string upload_id(call.Query("uploadId"));
  auto upload = store()->GetUpload(call.bucket, upload_id);
  if (!upload.ok() || upload->key != call.key) return Error(call, S3ErrorCode::kNoSuchUpload);
  auto writer = store()->NewPartWriter(call.bucket, upload_id, *part);
  if (!writer.ok()) {
    if (writer.status().IsNotFound()) return Error(call, S3ErrorCode::kNoSuchUpload);
    return StoreError(call, writer.status());
  }
  auto ingest = IngestBody(call, writer->get(), options().max_object_size);
  if (ingest.error) return Error(call, *ingest.error);
  diskstore::ObjectMeta meta;
  meta.checksums = ingest.result.checksums;
  auto stored = (*writer)->Commit(std::move(meta));
  if (!stored.ok()) {
    if (stored.status().IsNotFound()) return Error(call, S3ErrorCode::kNoSuchUpload);
    return StoreError(call, stored.status());
  }
  Reply r = Ok(call);
  r.Set("ETag", QuoteEtag(stored->etag));
  SetEncryptionHeader(r, *stored);
  return r;
}

Reply S3Service::Impl::CompleteMultipartUpload(S3Call& call) {
  std::string upload_id(call.Query("uploadId"));
  auto upload = store()->GetUpload(call.bucket, upload_id);
  bool in_progress = upload.ok() && upload->key == call.key;
  if (!in_progress && !(!upload.ok() && upload.status().IsNotFound())) {
    return Error(call, S3ErrorCode::kNoSuchUpload);
  }
  diskstore::WriteCondition condition;
  if (auto bad = ReadWriteCondition(*call.http, &condition)) return Error(call, *bad);
  auto body = call.http->ReadAll(options().max_xml_body);
  if (!body.ok()) return Error(call, FromStatus(body.status()));
  auto parts = ParseCompleteMultipartUpload(*body);
  if (!parts.ok()) return Error(call, S3ErrorCode::kMalformedXML, parts.status().message());
  // A retry of a Complete that succeeded (its answer was lost) gets the same answer, as long
  // as it names the same parts and the object is still the key's current one.
  auto completed_before = [&]() -> Result<diskstore::ObjectMeta> {
    auto done = store()->CompletedUpload(call.bucket, upload_id, *parts);
    if (done.ok() && done->key != call.key) return Status::NotFound("another key's upload");
    return done;
  };
  auto stored = in_progress ? store()->CompleteUpload(call.bucket, upload_id, *parts,
                                                      options().min_part_size, condition)
                            : completed_before();
  if (!stored.ok() && in_progress && stored.status().IsNotFound()) {
    stored = completed_before();  // a concurrent identical Complete won
  }
  if (!stored.ok()) {
    const Status& s = stored.status();
    if (auto failed = ConditionError(s)) return Error(call, *failed);
    if (s.IsNotFound()) return Error(call, S3ErrorCode::kNoSuchUpload);
    const std::string& m = s.message();
    if (m.rfind("InvalidPartOrder:", 0) == 0) return Error(call, S3ErrorCode::kInvalidPartOrder);
    if (m.rfind("EntityTooSmall:", 0) == 0) return Error(call, S3ErrorCode::kEntityTooSmall);
    if (m.rfind("InvalidPart:", 0) == 0) return Error(call, S3ErrorCode::kInvalidPart);
    return StoreError(call, s);
  }
  std::string host(call.http->Header("host").value_or("localhost"));
  Reply r = Xml(call, std::string(kXmlHeader) + "<CompleteMultipartUploadResult xmlns=\"" +
                          std::string(kS3Namespace) + "\"><Location>" +
                          XmlEscape("http://" + host + call.resource) + "</Location><Bucket>" +
                          XmlEscape(call.bucket) + "</Bucket><Key>" + XmlEscape(call.key) +
                          "</Key><ETag>" + XmlEscape(QuoteEtag(stored->etag)) +
                          "</ETag></CompleteMultipartUploadResult>");
  SetEncryptionHeader(r, *stored);
  return r;
}

Reply S3Service::Impl::AbortMultipartUpload(S3Call& call) {
  std::string upload_id(call.Query("uploadId"));
  auto upload = store()->GetUpload(call.bucket, upload_id);
  if (!upload.ok() || upload->key != call.key) return Error(call, S3ErrorCode::kNoSuchUpload);
  Status s = store()->AbortUpload(call.bucket, upload_id);
  if (s.IsNotFound()) return Error(call, S3ErrorCode::kNoSuchUpload);
  if (!s.ok()) return StoreError(call, s);
  return Ok(call, 204);
}

Reply S3Service::Impl::ListParts(S3Call& call) {
  std::string upload_id(call.Query("uploadId"));
  auto upload = store()->GetUpload(call.bucket, upload_id);
  if (!upload.ok() || upload->key != call.key) return Error(call, S3ErrorCode::kNoSuchUpload);
  auto parts = store()->ListParts(call.bucket, upload_id);
  if (!parts.ok()) return Error(call, S3ErrorCode::kNoSuchUpload);
  int marker = 0;
  if (call.HasQuery("part-number-marker")) {
    auto m = ParsePartNumber(call.Query("part-number-marker"));
    marker = m.value_or(0);
  }
  int max_parts = 1000;
  if (call.HasQuery("max-parts")) {
    std::string_view s = call.Query("max-parts");
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v < 0) return Error(call, S3ErrorCode::kInvalidArgument, "bad max-parts");
    max_parts = std::min(v, 1000);
  }
  std::string items;
  int count = 0, last = marker;
  bool truncated = false;
  for (const auto& p : *parts) {
    if (p.number <= marker) continue;
    if (count == max_parts) {
      truncated = true;
      break;
    }
    items += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><LastModified>" +
             FormatIso8601(p.last_modified) + "</LastModified><ETag>" +
             XmlEscape(QuoteEtag(p.etag)) + "</ETag><Size>" + std::to_string(p.size) +
             "</Size></Part>";
    last = p.number;
    ++count;
  }
  return Xml(call, std::string(kXmlHeader) + "<ListPartsResult xmlns=\"" +
                       std::string(kS3Namespace) + "\"><Bucket>" + XmlEscape(call.bucket) +
                       "</Bucket><Key>" + XmlEscape(call.key) + "</Key><UploadId>" + upload_id +
                       "</UploadId><PartNumberMarker>" + std::to_string(marker) +
                       "</PartNumberMarker><NextPartNumberMarker>" + std::to_string(last) +
                       "</NextPartNumberMarker><MaxParts>" + std::to_string(max_parts) +
                       "</MaxParts><IsTruncated>" + (truncated ? "true" : "false") +
                       "</IsTruncated><StorageClass>STANDARD</StorageClass>" + items +
                       "</ListPartsResult>");
}

namespace {

// A ListMultipartUploads request's query, read and checked.
struct UploadsQuery {
  int max_uploads = 1000;
  bool url = false;  // encoding-type=url
  std::string_view prefix, delimiter, key_marker, id_marker;
};

// Encodes a key or prefix as listed: URL-encoded first when the request asked for
// encoding-type=url.
struct ListedName {
  bool url;
  std::string operator()(std::string_view s) const {
    return XmlEscape(url ? UriEncode(s, true) : std::string(s));
  }
};

// One page of the listing: the uploads and common prefixes rendered, and where the next
// page starts.
struct UploadsPage {
  std::string items, prefixes, next_key, next_id;
  bool truncated = false;
};

// Reads and checks the query parameters into `q`: max-uploads, encoding-type, prefix,
// delimiter and the markers.
std::optional<S3Error> ReadUploadsQuery(const S3Call& call, UploadsQuery* q) {
  if (call.HasQuery("max-uploads")) {
    std::string_view s = call.Query("max-uploads");
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
      return S3Error{S3ErrorCode::kInvalidArgument, "max-uploads must be a non-negative integer"};
    }
    q->max_uploads = std::min(v, 1000);
  }
  q->url = call.HasQuery("encoding-type");
  if (q->url && call.Query("encoding-type") != "url") {
    return S3Error{S3ErrorCode::kInvalidArgument, "Invalid Encoding Method specified in Request"};
  }
  q->prefix = call.Query("prefix");
  q->delimiter = call.Query("delimiter");
  q->key_marker = call.Query("key-marker");
  q->id_marker = call.Query("upload-id-marker");
  return std::nullopt;
}

// Picks the page of `uploads` that `q` asks for (after the markers, under the prefix, keys
// sharing a prefix up to the delimiter as one common prefix) and renders its entries.
UploadsPage SelectUploads(const std::vector<diskstore::UploadInfo>& uploads, const UploadsQuery& q,
                          const ListedName& enc) {
  const std::string_view prefix = q.prefix;
  const std::string_view delimiter = q.delimiter;
  const std::string_view key_marker = q.key_marker;
  const std::string_view id_marker = q.id_marker;
  const int max_uploads = q.max_uploads;

  UploadsPage page;
  std::string last_prefix;
  int count = 0;
  bool seen_id_marker = false;
  for (const diskstore::UploadInfo& u : uploads) {
    if (!u.key.starts_with(prefix)) continue;
    if (!key_marker.empty() && u.key <= key_marker) {
      if (u.key < key_marker || id_marker.empty()) continue;
      // key-marker's own uploads: those after upload-id-marker.
      if (!seen_id_marker) {
        seen_id_marker = u.upload_id == id_marker;
        continue;
      }
    }
    std::string group;
    if (!delimiter.empty()) {
      size_t at = u.key.find(delimiter, prefix.size());
      if (at != std::string::npos) group = u.key.substr(0, at + delimiter.size());
    }
    if (!group.empty() && group == last_prefix) continue;
    if (count == max_uploads) {
      page.truncated = true;
      break;
    }
    ++count;
    page.next_key = u.key;
    page.next_id = u.upload_id;
    if (!group.empty()) {
      last_prefix = group;
      page.prefixes += "<CommonPrefixes><Prefix>" + enc(group) + "</Prefix></CommonPrefixes>";
      continue;
    }
    const std::string who =
        "<ID>" + std::string(iam::kAccountId) + "</ID><DisplayName>sparkify</DisplayName>";
    page.items += "<Upload><Key>" + enc(u.key) + "</Key><UploadId>" + XmlEscape(u.upload_id) +
                  "</UploadId><Initiator>" + who + "</Initiator><Owner>" + who +
                  "</Owner><StorageClass>STANDARD</StorageClass><Initiated>" +
                  FormatIso8601(u.initiated) + "</Initiated></Upload>";
  }
  return page;
}

// Renders the ListMultipartUploadsResult around a page's entries.
std::string ListUploadsResultXml(const S3Call& call, const UploadsQuery& q, const UploadsPage& page,
                                 const ListedName& enc) {
  std::string xml = std::string(kXmlHeader) + "<ListMultipartUploadsResult xmlns=\"" +
                    std::string(kS3Namespace) + "\"><Bucket>" + XmlEscape(call.bucket) +
                    "</Bucket><KeyMarker>" + enc(q.key_marker) + "</KeyMarker><UploadIdMarker>" +
                    XmlEscape(q.id_marker) + "</UploadIdMarker>";
  if (page.truncated) {
    xml += "<NextKeyMarker>" + enc(page.next_key) + "</NextKeyMarker><NextUploadIdMarker>" +
           XmlEscape(page.next_id) + "</NextUploadIdMarker>";
  }
  if (!q.prefix.empty()) xml += "<Prefix>" + enc(q.prefix) + "</Prefix>";
  if (!q.delimiter.empty()) xml += "<Delimiter>" + enc(q.delimiter) + "</Delimiter>";
  if (q.url) xml += "<EncodingType>url</EncodingType>";
  xml += "<MaxUploads>" + std::to_string(q.max_uploads) + "</MaxUploads><IsTruncated>" +
         (page.truncated ? "true" : "false") + "</IsTruncated>" + page.items + page.prefixes +
         "</ListMultipartUploadsResult>";
  return xml;
}

}  // namespace

// Uploads in progress, by key then initiation time: prefix, delimiter (CommonPrefixes),
// max-uploads (<= 1000), key-marker and upload-id-marker (uploads of key-marker after that id,
// then the keys after key-marker), encoding-type=url.
Reply S3Service::Impl::ListMultipartUploads(S3Call& call) {
  auto uploads = store()->ListUploads(call.bucket);
  if (!uploads.ok()) return StoreError(call, uploads.status());
  UploadsQuery q;
  if (auto err = ReadUploadsQuery(call, &q)) return Error(call, *err);
  const ListedName enc{q.url};
  UploadsPage page = SelectUploads(*uploads, q, enc);
  return Xml(call, ListUploadsResultXml(call, q, page, enc));
}

}  // namespace sparkify::store
