// POST Object: a browser uploads a file straight to the bucket with a form that a key holder
// signed (docs/s3.md, "POST Object"). The form's fields are read first, the signature and the
// policy checked, the key authorised, and only then is the file streamed into the store.
#include "common/crypto.h"
#include "common/uri.h"
#include "store/internal/object_headers.h"
#include "store/internal/post_form.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

constexpr std::string_view kFilename = "${filename}";

// The key the form names, with ${filename} replaced by the file's name (S3's one variable).
std::string KeyOf(std::string key, std::string_view file_name) {
  if (size_t at = key.find(kFilename); at != std::string::npos) {
    key.replace(at, kFilename.size(), file_name);
  }
  return key;
}

// The form's fields as request headers, so the object's metadata, the encryption and the ACL
// asked for are read by the same code as a PUT's (Content-Type, x-amz-meta-*, acl as
// x-amz-acl, ...). A field that could not be a header (CR, LF, NUL in it) is InvalidArgument:
// it would be stored as metadata no answer could carry.
std::optional<S3Error> AsHeaders(const PostForm& form, http::Request* req) {
  req->method = "POST";
  for (const auto& [name, value] : form.fields) {
    if (name == "policy" || name == "x-amz-signature" || name == "file") continue;
    if (!http::IsValidFieldName(name) || !http::IsValidFieldValue(value)) {
      return S3Error{S3ErrorCode::kInvalidArgument,
                     "The form field '" + name + "' is not a valid header name and value."};
    }
    req->headers.emplace_back(name == "acl" ? "x-amz-acl" : name, value);
  }
  return std::nullopt;
}

std::optional<S3Error> CheckKey(const std::string& key) {
  if (key.empty()) {
    return S3Error{S3ErrorCode::kInvalidArgument, "User key must have a length greater than zero."};
  }
  if (key.size() > diskstore::kMaxKeyBytes) return S3Error{S3ErrorCode::kKeyTooLongError, ""};
  if (!IsValidUtf8(key)) return S3Error{S3ErrorCode::kInvalidURI, ""};
  return std::nullopt;
}

std::string Field(const PostForm& form, const char* name) {
  auto it = form.fields.find(name);
  return it == form.fields.end() ? std::string() : it->second;
}

// The policy holds for the form as sent and for the key it names once ${filename} is in it
// (so a starts-with condition cannot be met by the variable's text alone).
std::optional<S3Error> CheckPolicy(const PostPolicy& policy, const PostForm& form,
                                   const std::string& key, std::string_view bucket, TimePoint now) {
  if (auto err = CheckPostPolicy(policy, form, bucket, now)) return err;
  if (Field(form, "key") == key) return std::nullopt;
  PostForm substituted = form;
  substituted.fields["key"] = key;
  return CheckPostPolicy(policy, substituted, bucket, now);
}

}  // namespace

Reply S3Service::Impl::PostObject(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  auto boundary = FormBoundary(call.http->Header("content-type").value_or(""));
  if (!boundary) {
    return Error(call, S3ErrorCode::kPreconditionFailed,
                 "Bucket POST must be of the enclosure-type multipart/form-data");
  }
  // A request signature (header or query) covers no form field and, here, no body: only the
  // form's own signed policy, or no signature at all, may authorise a form.
  if (call.auth.type != sigv4::AuthType::kAnonymous) {
    return Error(call, S3ErrorCode::kInvalidRequest,
                 "A POST upload form is authorised by its signed policy fields, not by a "
                 "request signature.");
  }
  PostFormReader reader(call.http->body, *boundary);
  PostForm form;
  if (auto err = reader.ReadFields(&form)) return Error(call, *err);
  if (!form.fields.count("key")) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "Bucket POST must contain a field named 'key'.  If it is specified, please "
                 "check the order of the fields.");
  }
  call.key = KeyOf(form.fields["key"], form.file_name);
  call.resource = "/" + call.bucket + "/" + call.key;
  if (auto bad = CheckKey(call.key)) return Error(call, *bad);

  // Who signs it, and what its policy allows; a form without a policy is anonymous.
  std::optional<std::pair<uint64_t, uint64_t>> length_range;
  if (form.fields.count("policy")) {
    if (auto err = AuthenticatePostForm(call, form.fields)) return Error(call, *err);
    auto document = Base64Decode(form.fields["policy"]);
    if (!document) {
      return Error(call, S3ErrorCode::kInvalidPolicyDocument,
                   "Invalid Policy: Invalid Base64 encoding.");
    }
    auto policy = ParsePostPolicy(*document);
    if (!policy.ok()) {
      return Error(call, S3ErrorCode::kInvalidPolicyDocument, policy.status().message());
    }
    if (auto err = CheckPolicy(*policy, form, call.key, call.bucket, options().clock->Now())) {
      return Error(call, *err);
    }
    length_range = LengthRange(*policy);
  }
  http::Request as_headers;
  if (auto bad = AsHeaders(form, &as_headers)) return Error(call, *bad);
  if (auto bad = ReadEncryptionRequest(as_headers, Op::kPutObject, &call.sse_requested)) {
    return Error(call, *bad);
  }
  std::map<std::string, std::string> extra;
  if (auto sse = as_headers.Header("x-amz-server-side-encryption")) {
    extra["s3:x-amz-server-side-encryption"] = std::string(*sse);
  }
  if (auto err = Authorize(call, "s3:PutObject", ObjectArn(call.bucket, call.key), extra)) {
    return Error(call, *err);
  }
  if (RequestsPublicAcl(as_headers) && GetPublicAccessBlock(call.bucket).block_public_acls) {
    return Error(call, S3ErrorCode::kAccessDenied,
                 "Block Public Access forbids public ACLs on this bucket");
  }
  return StorePostedFile(call, form, as_headers, reader, length_range);
}

Reply S3Service::Impl::StorePostedFile(S3Call& call, const PostForm& form,
                                       const http::Request& as_headers, PostFormReader& reader,
                                       std::optional<std::pair<uint64_t, uint64_t>> range) {
  auto meta = MetaFromHeaders(as_headers);
  if (!meta) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "Your metadata headers exceed the maximum allowed metadata size (2 KB).");
  }
  auto encrypt = EncryptsAtRest(call);
  if (!encrypt.ok()) return StoreError(call, encrypt.status());
  auto writer = store()->NewWriter(call.bucket, call.key, *encrypt);
  if (!writer.ok()) return StoreError(call, writer.status());
  const uint64_t limit =
      range ? std::min(range->second, options().max_object_size) : options().max_object_size;
  auto* w = writer->get();
  auto failed = reader.ReadFile([&](std::string_view data) -> std::optional<S3Error> {
    if (w->bytes_written() + data.size() > limit) return S3Error{S3ErrorCode::kEntityTooLarge, ""};
    Status s = w->Append(data);
    if (!s.ok()) return FromStoreStatus(s);
    return std::nullopt;
  });
  if (failed) return Error(call, *failed);
  if (range && w->bytes_written() < range->first) {
    return Error(call, S3ErrorCode::kEntityTooSmall);
  }
  auto stored = w->Commit(std::move(*meta));
  if (!stored.ok()) return StoreError(call, stored.status());
  return PostAnswer(call, form, *stored);
}

// 204 by default; success_action_status 200 or 201 (with a PostResponse document), or a 303
// to success_action_redirect with the bucket, key and ETag in its query.
Reply S3Service::Impl::PostAnswer(const S3Call& call, const PostForm& form,
                                  const diskstore::ObjectMeta& stored) {
  const std::string etag = QuoteEtag(stored.etag);
  const std::string host(call.http->Header("host").value_or("localhost"));
  // Path style names the bucket in the path; virtual-hosted style in the host.
  std::string path_bucket = "/";
  path_bucket += UriEncode(call.bucket);
  const std::string_view path = call.http->path;
  const bool path_style = path.starts_with(path_bucket) &&
                          (path.size() == path_bucket.size() || path[path_bucket.size()] == '/');
  std::string location = call.http->secure ? "https://" : "http://";
  location += host;
  if (path_style) location += path_bucket;
  location += '/';
  location += UriEncode(call.key, true);
  std::string redirect = Field(form, "success_action_redirect");
  if (redirect.empty()) redirect = Field(form, "redirect");
  if ((redirect.starts_with("http://") || redirect.starts_with("https://")) &&
      http::IsValidFieldValue(redirect)) {
    redirect += redirect.find('?') == std::string::npos ? "?" : "&";
    redirect += "bucket=" + UriEncode(call.bucket) + "&key=" + UriEncode(call.key) +
                "&etag=" + UriEncode(etag);
    Reply r = Ok(call, 303);
    r.Set("Location", redirect);
    r.Set("ETag", etag);
    return r;
  }
  const std::string status = Field(form, "success_action_status");
  Reply r = Ok(call, status == "200" ? 200 : status == "201" ? 201 : 204);
  r.Set("ETag", etag);
  r.Set("Location", location);
  SetEncryptionHeader(r, stored);
  if (r.status == 201) {
    r.Set("Content-Type", "application/xml");
    r.body = std::string(kXmlHeader) + "<PostResponse><Location>" + XmlEscape(location) +
             "</Location><Bucket>" + XmlEscape(call.bucket) + "</Bucket><Key>" +
             XmlEscape(call.key) + "</Key><ETag>" + XmlEscape(etag) + "</ETag></PostResponse>";
  }
  return r;
}

}  // namespace sparkify::store
