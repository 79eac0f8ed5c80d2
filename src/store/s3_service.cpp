#include "store/s3_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "common/crypto.h"
#include "common/uri.h"
#include "store/internal/object_headers.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
namespace {

// Request ids only need to be unique, not secret: a per-thread generator seeded once from
// the OS (RAND_bytes per request cost a syscall and showed up in the profile).
std::string NewRequestId() {
  thread_local std::mt19937_64 gen([] {
    std::string seed = RandomBytes(8);
    uint64_t v = 0;
    for (char c : seed) v = v << 8 | static_cast<unsigned char>(c);
    return v;
  }());
  static constexpr char kHex[] = "0123456789ABCDEF";
  uint64_t v = gen();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) id[static_cast<size_t>(i)] = kHex[v & 0xF];
  return id;
}

// "bucket.s3.localhost:9000" with domain "s3.localhost" -> "bucket".
std::string BucketFromHost(std::string_view host, std::string_view domain) {
  if (domain.empty()) return {};
  if (host.size() > 0 && host.front() != '[') {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  if (host.size() <= domain.size() + 1) return {};
  if (host.substr(host.size() - domain.size()) != domain) return {};
  if (host[host.size() - domain.size() - 1] != '.') return {};
  return std::string(host.substr(0, host.size() - domain.size() - 1));
}

}  // namespace

std::string ObjectArn(std::string_view bucket, std::string_view key) {
  return "arn:aws:s3:::" + std::string(bucket) + "/" + std::string(key);
}
std::string BucketArn(std::string_view bucket) { return "arn:aws:s3:::" + std::string(bucket); }
std::string QuoteEtag(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

bool ValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  bool all_digits_and_dots = true;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') return false;
    if ((i == 0 || i + 1 == name.size()) && !alnum) return false;
    if (c == '.' && (name[i - 1] == '.' || name[i - 1] == '-' || name[i + 1] == '-')) return false;
    if (!(c >= '0' && c <= '9') && c != '.') all_digits_and_dots = false;
  }
  return !all_digits_and_dots;  // "192.168.5.4" looks like an IP address
}

Reply S3Service::Impl::Ok(const S3Call& call, int status) const {
  Reply r;
  r.status = status;
  r.Set("x-amz-request-id", call.request_id);
  return r;
}

Reply S3Service::Impl::Xml(const S3Call& call, std::string body) const {
  Reply r = Ok(call);
  r.Set("Content-Type", "application/xml");
  r.body = std::move(body);
  return r;
}

Reply S3Service::Impl::StoreError(const S3Call& call, const Status& status) {
  if (status.IsNotFound()) {
    if (!store_->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
    return Error(call, S3ErrorCode::kNoSuchKey);
  }
  if (status.code() == Status::Code::kNoSpace) {
    spdlog::warn("{} {}: {}", call.request_id, call.op.name, status.ToString());
  } else if (status.code() != Status::Code::kInvalidArgument &&
             status.code() != Status::Code::kResourceExhausted) {
    spdlog::error("{} {}: {}", call.request_id, call.op.name, status.ToString());
  }
  return Error(call, FromStoreStatus(status));
}

namespace {

// Reads the request target into the call: the bucket (from a virtual host in the Host header,
// else the path's first segment), key, query, resource and operation. An error when the target
// cannot be read.
std::optional<S3Error> ReadTarget(const http::Request& request, std::string_view domain,
                                  S3Call& call) {
  auto host = request.Header("host");
  call.bucket = BucketFromHost(host.value_or(""), domain);
  std::string_view path = request.path;
  if (path.empty() || path.front() != '/') {
    call.op = {Op::kMethodNotAllowed, "Invalid", "", false};
    return S3Error{S3ErrorCode::kInvalidRequest, "the request target must be a path"};
  }
  std::string_view rest = path.substr(1);
  if (call.bucket.empty()) {
    size_t slash = rest.find('/');
    auto bucket = UriDecode(rest.substr(0, slash));
    call.bucket = bucket.value_or("");
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  auto key = UriDecode(rest);
  auto params = ParseQuery(request.query);
  if (!key || !params) {
    return S3Error{S3ErrorCode::kInvalidArgument, "the URL has a malformed %-escape"};
  }
  call.key = std::move(*key);
  for (auto& p : *params) call.query.emplace(std::move(p.key), std::move(p.value));
  call.resource = "/" + call.bucket + (call.key.empty() ? "" : "/" + call.key);
  call.op = Classify(request.method, call.bucket, call.key, call.query,
                     request.Header("x-amz-copy-source").has_value());
  return std::nullopt;
}

// The checks of an authenticated request before authorisation, in this order: key length and
// encoding, bucket name, operations not served, the encryption asked for (read into
// call.sse_requested), methods not allowed.
std::optional<S3Error> CheckRequest(const http::Request& request, S3Call& call) {
  if (call.key.size() > diskstore::kMaxKeyBytes) return S3Error{S3ErrorCode::kKeyTooLongError, ""};
  // Keys are Unicode: bytes that are not UTF-8 cannot name an object (S3 says InvalidURI).
  if (!IsValidUtf8(call.key)) return S3Error{S3ErrorCode::kInvalidURI, ""};
  if (!call.bucket.empty() && !ValidBucketName(call.bucket)) {
    return S3Error{call.op.op == Op::kCreateBucket ? S3ErrorCode::kInvalidBucketName
                                                   : S3ErrorCode::kNoSuchBucket,
                   ""};
  }
  if (call.op.op == Op::kNotImplemented) return S3Error{S3ErrorCode::kNotImplemented, ""};
  // SSE-S3 is served; SSE-KMS and SSE-C are refused, so nobody believes data is encrypted
  // under a key they chose when it is not.
  if (auto bad = ReadEncryptionRequest(request, call.op.op, &call.sse_requested)) {
    return *bad;
  }
  if (call.op.op == Op::kMethodNotAllowed) return S3Error{S3ErrorCode::kMethodNotAllowed, ""};
  return std::nullopt;
}

// Authorisation of the operation itself; ops touching other resources check those too
// (DeleteObjects authorises each key it deletes, PostObject the key its form names).
std::optional<S3Error> AuthorizeOperation(S3Service::Impl& impl, const http::Request& request,
                                          const S3Call& call) {
  // A POST form names its key, and who signs it, in its body: PostObject authorises it.
  if (call.op.op != Op::kDeleteObjects && call.op.op != Op::kPostObject) {
    std::string arn = call.op.op == Op::kListBuckets ? "*"
                      : call.op.object_level         ? ObjectArn(call.bucket, call.key)
                                                     : BucketArn(call.bucket);
    std::map<std::string, std::string> extra;
    if (call.op.op == Op::kListObjects || call.op.op == Op::kListObjectsV2) {
      extra["s3:prefix"] = call.Query("prefix");
      if (call.HasQuery("delimiter")) extra["s3:delimiter"] = call.Query("delimiter");
      if (call.HasQuery("max-keys")) extra["s3:max-keys"] = call.Query("max-keys");
    }
    // As in IAM: the header as sent (policies may deny uploads that do not ask for it).
    if (auto sse = request.Header("x-amz-server-side-encryption")) {
      extra["s3:x-amz-server-side-encryption"] = std::string(*sse);
    }
    if (auto err = impl.Authorize(call, call.op.iam_action, arn, extra)) return err;
  }
  return std::nullopt;
}

// Runs the call's operation, authenticated, checked and authorised.
Reply Dispatch(S3Service::Impl& impl, S3Call& call) {
  // One line per operation, as a table.
  // clang-format off
  switch (call.op.op) {
    case Op::kListBuckets: return impl.ListBuckets(call);
    case Op::kCreateBucket: return impl.CreateBucket(call);
    case Op::kDeleteBucket: return impl.DeleteBucket(call);
    case Op::kHeadBucket: return impl.HeadBucket(call);
    case Op::kGetBucketLocation: return impl.GetBucketLocation(call);
    case Op::kListObjects: return impl.ListObjects(call, false);
    case Op::kListObjectsV2: return impl.ListObjects(call, true);
    case Op::kDeleteObjects: return impl.DeleteObjects(call);
    case Op::kGetBucketPolicy:
    case Op::kPutBucketPolicy:
    case Op::kDeleteBucketPolicy: return impl.BucketPolicy(call);
    case Op::kGetPublicAccessBlock:
    case Op::kPutPublicAccessBlock:
    case Op::kDeletePublicAccessBlock: return impl.PublicAccessBlockOp(call);
    case Op::kGetBucketEncryption:
    case Op::kPutBucketEncryption:
    case Op::kDeleteBucketEncryption: return impl.BucketEncryption(call);
    case Op::kGetBucketCors:
    case Op::kPutBucketCors:
    case Op::kDeleteBucketCors: return impl.BucketCors(call);
    case Op::kPreflight: return impl.Preflight(call);
    case Op::kPostObject: return impl.PostObject(call);
    case Op::kPutObject: return impl.PutObject(call);
    case Op::kCopyObject: return impl.CopyObject(call);
    case Op::kGetObject: return impl.GetObject(call, false);
    case Op::kHeadObject: return impl.GetObject(call, true);
    case Op::kDeleteObject: return impl.DeleteObject(call);
    case Op::kCreateMultipartUpload: return impl.CreateMultipartUpload(call);
    case Op::kUploadPart: return impl.UploadPart(call);
    case Op::kCompleteMultipartUpload: return impl.CompleteMultipartUpload(call);
    case Op::kAbortMultipartUpload: return impl.AbortMultipartUpload(call);
    case Op::kListParts: return impl.ListParts(call);
    case Op::kListMultipartUploads: return impl.ListMultipartUploads(call);
    case Op::kNotImplemented:
    case Op::kMethodNotAllowed: break;
  }
  // clang-format on
  return impl.Error(call, S3ErrorCode::kNotImplemented);
}

}  // namespace

// Reads the target, authenticates, checks and authorises the request, then runs it; a
// preflight is answered from the bucket's CORS rules alone.
Reply S3Service::Impl::Handle(http::Request& request) {
  S3Call call{&request, NewRequestId(), {}, {}, {}, {}, {}, {}, {}};
  if (auto err = ReadTarget(request, options_.virtual_host_domain, call)) {
    return Error(call, *err);
  }
  if (call.op.op == Op::kPreflight) return Preflight(call);
  std::optional<S3Error> refused = Authenticate(call);
  if (!refused) refused = CheckRequest(request, call);
  if (!refused) refused = AuthorizeOperation(*this, request, call);
  Reply reply = refused ? Error(call, *refused) : Dispatch(*this, call);
  // Errors too: a page can only read an answer, even an error, that carries them.
  AddCorsHeaders(call, &reply);
  return reply;
}

S3Service::S3Service(diskstore::DiskStore* store, iam::IdentityStore* identities,
                     S3ServiceOptions options)
    : impl_(std::make_unique<Impl>(store, identities, std::move(options))) {}
S3Service::~S3Service() = default;

http::Response S3Service::Handle(http::Request& request) {
  auto start = std::chrono::steady_clock::now();
  http::Response res;
  try {
    res = impl_->Handle(request);
  } catch (const std::exception& e) {
    spdlog::error("s3: unexpected exception: {}", e.what());
    res = ErrorResponse({S3ErrorCode::kInternalError, ""}, request.path, "0");
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  // One line per request; never the query string (a presigned URL is a bearer credential).
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("s3 {} {} {} {} {}us", request.remote_ip, request.method, request.path,
                  res.status, micros);
  }
  return res;
}

http::Response S3Service::RenderServerError(int status, std::string_view code,
                                            std::string_view message) {
  S3ErrorCode c = status == 503   ? S3ErrorCode::kSlowDown
                  : status == 500 ? S3ErrorCode::kInternalError
                                  : S3ErrorCode::kInvalidRequest;
  (void)code;
  http::Response res = ErrorResponse({c, std::string(message)}, "", "0");
  if (status == 431) res.status = 400;  // S3 answers oversized headers with 400
  return res;
}

}  // namespace sparkify::store
