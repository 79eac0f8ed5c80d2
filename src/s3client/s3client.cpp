// S3Client operations: each builds a signed request, sends it through the transport and reads
// the answer.
#include "s3client/s3client.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include "common/crypto.h"
#include "common/strings.h"
#include "common/uri.h"
#include "s3client/internal/addressing.h"
#include "s3client/internal/errors.h"
#include "s3client/internal/http_transport.h"
#include "s3client/internal/presign_key.h"
#include "s3client/internal/xml.h"

namespace sparkify::s3client {
namespace {

using internal::BodySink;
using internal::HttpResponse;
using internal::RequestBody;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// One S3 request, before signing.
struct Call {
  std::string method;
  std::string bucket;
  std::string key;
  std::string raw_query;
  sigv4::Headers headers;  // signed and sent
  RequestBody body;
  std::string payload_hash;  // empty: computed from body.memory
};

std::optional<std::string> HeaderOf(const sigv4::Headers& headers, std::string_view name) {
  if (auto value = httpclient::FindHeader(headers, name)) return std::string(*value);
  return std::nullopt;
}

ObjectInfo InfoFrom(const sigv4::Headers& headers) {
  ObjectInfo info;
  if (auto v = HeaderOf(headers, "content-length"))
    info.size = std::strtoull(v->c_str(), nullptr, 10);
  info.etag = HeaderOf(headers, "etag").value_or("");
  info.content_type = HeaderOf(headers, "content-type").value_or("");
  if (auto v = HeaderOf(headers, "last-modified")) {
    if (auto t = ParseHttpDate(*v)) info.last_modified = *t;
  }
  constexpr std::string_view kMeta = "x-amz-meta-";
  for (const auto& [k, v] : headers) {
    std::string lower = AsciiLowerString(k);
    if (lower.rfind(kMeta, 0) == 0) info.metadata.emplace_back(lower.substr(kMeta.size()), v);
  }
  info.checksum_sha256 = HeaderOf(headers, "x-amz-checksum-sha256").value_or("");
  info.checksum_type = HeaderOf(headers, "x-amz-checksum-type").value_or("");
  return info;
}

void AddPutHeaders(const PutOptions& options, sigv4::Headers* headers) {
  headers->emplace_back(
      "Content-Type", options.content_type.empty() ? "binary/octet-stream" : options.content_type);
  for (const auto& [name, value] : options.metadata) {
    headers->emplace_back("x-amz-meta-" + name, value);
  }
  if (!options.if_match.empty()) headers->emplace_back("If-Match", options.if_match);
  if (options.if_none_match_any) headers->emplace_back("If-None-Match", "*");
}

// Runs `fn`, turning any exception into a Status so none leaves the library.
template <typename Fn>
auto Guard(Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("s3client: ") + e.what());
  }
}

// The key to sign with now.
sigv4::Credentials CredentialsOf(const ClientOptions& o) {
  return o.credential_source ? o.credential_source->Current() : o.credentials;
}

}  // namespace

namespace internal {

Result<sigv4::Credentials> PresignKey(const ClientOptions& o, TimePoint now,
                                      int64_t* expires_seconds) {
  if (!o.credential_source) return o.credentials;
  auto key = o.credential_source->CurrentKey();
  if (key.expiration) {
    const int64_t left =
        std::chrono::duration_cast<std::chrono::seconds>(*key.expiration - now).count();
    if (left < 1) {
      return Status::Unavailable("the signing key has expired and no new one could be had");
    }
    *expires_seconds = std::min(*expires_seconds, left);
  }
  return key.credentials;
}

}  // namespace internal

namespace {

class Runner {
 public:
  explicit Runner(const ClientOptions& options)
      : options_(options), transport_(internal::HttpOptionsFor(options)) {}

  // Signs and sends; a non-2xx answer becomes an error Status.
  Status Run(const Call& call, BodySink* sink, HttpResponse* response) {
    SPARKIFY_ASSIGN_OR_RETURN(internal::Endpoint endpoint,
                              internal::ParseEndpoint(options_.endpoint));
    internal::Target target =
        internal::TargetFor(endpoint, options_.addressing, call.bucket, call.key);
    sigv4::SignRequest sr;
    sr.method = call.method;
    sr.scheme = endpoint.scheme;
    sr.host = target.host;
    sr.decoded_path = target.decoded_path;
    sr.raw_query = call.raw_query;
    sr.headers = call.headers;
    sr.payload_hash = !call.payload_hash.empty() ? call.payload_hash
                      : options_.sign_payload    ? Sha256Hex(call.body.memory)
                                                 : std::string(sigv4::kUnsignedPayload);
    sr.region = options_.region;
    sr.time = options_.clock->Now();
    sigv4::Headers headers = call.headers;
    for (auto& h : sigv4::SignHeaders(sr, CredentialsOf(options_))) headers.push_back(std::move(h));

    std::string url =
        endpoint.scheme + "://" + target.host + sigv4::EncodePath(target.decoded_path);
    if (!call.raw_query.empty()) url += "?" + call.raw_query;
    SPARKIFY_RETURN_IF_ERROR(
        internal::Perform(call.method, url, headers, call.body, sink, transport_, response));
    if (response->status < 200 || response->status >= 300) {
      return internal::ErrorFromResponse(response->status, response->error_body);
    }
    return Status::OK();
  }

 private:
  const ClientOptions& options_;
  const httpclient::Options transport_;
};

// Opens `path` and returns its size; hashes it when the payload is signed.
Status OpenForUpload(const std::string& path, bool hash, File* file, uint64_t* size,
                     std::string* sha256_hex) {
  file->reset(std::fopen(path.c_str(), "rb"));
  if (!*file) return Status::IOError("cannot open " + path);
  struct stat st {};
  if (fstat(fileno(file->get()), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::IOError(path + " is not a regular file");
  }
  *size = static_cast<uint64_t>(st.st_size);
  if (!hash) return Status::OK();
  auto hasher = Hasher::Create(Hasher::Kind::kSha256);
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file->get())) > 0) {
    hasher->Update(std::string_view(buffer, n));
  }
  if (std::ferror(file->get())) return Status::IOError("cannot read " + path);
  *sha256_hex = HexEncode(hasher->Finish());
  std::rewind(file->get());
  return Status::OK();
}

}  // namespace

std::string ObjectInfo::FullObjectSha256Hex() const {
  // A checksum of checksums: "-<parts>" appended (AWS, this store), or so typed.
  if (checksum_sha256.find('-') != std::string::npos || checksum_type == "COMPOSITE") return "";
  std::optional<std::string> digest = Base64Decode(checksum_sha256);
  if (!digest || digest->size() != 32) return "";
  return HexEncode(*digest);
}

S3Client::S3Client(ClientOptions options) : options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = &Clock::System();
}

Status S3Client::CreateBucket(std::string_view bucket) {
  return Guard([&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, "", false));
    Call call{"PUT", std::string(bucket), "", "", {}, {}, ""};
    std::string config;
    if (options_.region != "us-east-1") {
      config = internal::CreateBucketConfiguration(options_.region);
      call.body.memory = config;
      call.headers.emplace_back("Content-Type", "application/xml");
    }
    HttpResponse response;
    return Runner(options_).Run(call, nullptr, &response);
  });
}

Result<PutResult> S3Client::PutObject(std::string_view bucket, std::string_view key,
                                      std::string_view body, const PutOptions& options) {
  return Guard([&]() -> Result<PutResult> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    Call call{"PUT", std::string(bucket), std::string(key), "", {}, {}, ""};
    AddPutHeaders(options, &call.headers);
    call.body.memory = body;
    if (options.checksum_sha256 || !options.body_sha256.empty()) {
      const std::string digest = options.body_sha256.empty() ? Sha256(body) : options.body_sha256;
      if (digest.size() != 32) return Status::InvalidArgument("body_sha256 is not 32 bytes");
      if (options.checksum_sha256) {
        call.headers.emplace_back("x-amz-checksum-sha256", Base64Encode(digest));
      }
      if (options_.sign_payload) call.payload_hash = HexEncode(digest);  // hashed once
    }
    HttpResponse response;
    SPARKIFY_RETURN_IF_ERROR(Runner(options_).Run(call, nullptr, &response));
    return PutResult{HeaderOf(response.headers, "etag").value_or("")};
  });
}

Result<PutResult> S3Client::PutObjectFromFile(std::string_view bucket, std::string_view key,
                                              const std::string& path, const PutOptions& options) {
  return Guard([&]() -> Result<PutResult> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    if (options.checksum_sha256 || !options.body_sha256.empty()) {
      return Status::InvalidArgument(
          "checksum_sha256 and body_sha256 are for PutObject, not PutObjectFromFile");
    }
    Call call{"PUT", std::string(bucket), std::string(key), "", {}, {}, ""};
    AddPutHeaders(options, &call.headers);
    File file;
    SPARKIFY_RETURN_IF_ERROR(
        OpenForUpload(path, options_.sign_payload, &file, &call.body.size, &call.payload_hash));
    if (call.payload_hash.empty()) call.payload_hash = std::string(sigv4::kUnsignedPayload);
    call.body.file = file.get();
    HttpResponse response;
    SPARKIFY_RETURN_IF_ERROR(Runner(options_).Run(call, nullptr, &response));
    return PutResult{HeaderOf(response.headers, "etag").value_or("")};
  });
}

Result<GetResult> S3Client::GetObject(std::string_view bucket, std::string_view key,
                                      const GetOptions& options) {
  return Guard([&]() -> Result<GetResult> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    Call call{"GET", std::string(bucket), std::string(key), "", {}, {}, ""};
    if (options.range) {
      if (options.range->first > options.range->second) {
        return Status::InvalidArgument("a byte range must not end before it starts");
      }
      call.headers.emplace_back("range", "bytes=" + std::to_string(options.range->first) + "-" +
                                             std::to_string(options.range->second));
    }
    GetResult out;
    internal::MemorySink sink(&out.body, options.max_bytes);
    HttpResponse response;
    SPARKIFY_RETURN_IF_ERROR(Runner(options_).Run(call, &sink, &response));
    out.info = InfoFrom(response.headers);
    out.info.size = out.body.size();
    // "bytes 0-65535/1234567": the whole object's size follows the slash.
    if (auto range = HeaderOf(response.headers, "content-range"); range && response.status == 206) {
      size_t slash = range->rfind('/');
      if (slash != std::string::npos && slash + 1 < range->size() && (*range)[slash + 1] != '*') {
        out.info.size = std::strtoull(range->c_str() + slash + 1, nullptr, 10);
      }
    }
    return out;
  });
}

Result<ObjectInfo> S3Client::GetObjectToFile(std::string_view bucket, std::string_view key,
                                             const std::string& path) {
  return Guard([&]() -> Result<ObjectInfo> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    std::string temp = path + ".part-" + HexEncode(RandomBytes(6));
    File file(std::fopen(temp.c_str(), "wb"));
    if (!file) return Status::IOError("cannot create " + temp);
    Call call{"GET", std::string(bucket), std::string(key), "", {}, {}, ""};
    internal::FileSink sink(file.get());
    HttpResponse response;
    Status st = Runner(options_).Run(call, &sink, &response);
    bool closed = std::fclose(file.release()) == 0;
    if (st.ok() && !closed) st = Status::IOError("cannot write " + temp);
    if (st.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
      st = Status::IOError("cannot rename the download to " + path);
    }
    if (!st.ok()) {
      std::remove(temp.c_str());
      return st;
    }
    return InfoFrom(response.headers);
  });
}

Result<ObjectInfo> S3Client::HeadObject(std::string_view bucket, std::string_view key,
                                        const HeadOptions& options) {
  return Guard([&]() -> Result<ObjectInfo> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    Call call{"HEAD", std::string(bucket), std::string(key), "", {}, {}, ""};
    if (options.checksum_mode) call.headers.emplace_back("x-amz-checksum-mode", "ENABLED");
    HttpResponse response;
    SPARKIFY_RETURN_IF_ERROR(Runner(options_).Run(call, nullptr, &response));
    return InfoFrom(response.headers);
  });
}

Status S3Client::DeleteObject(std::string_view bucket, std::string_view key) {
  return Guard([&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    Call call{"DELETE", std::string(bucket), std::string(key), "", {}, {}, ""};
    HttpResponse response;
    return Runner(options_).Run(call, nullptr, &response);
  });
}

Result<ListResult> S3Client::ListObjectsV2(std::string_view bucket, const ListOptions& options) {
  return Guard([&]() -> Result<ListResult> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, "", false));
    std::string query = "list-type=2&encoding-type=url";
    auto add = [&query](std::string_view name, const std::string& value) {
      if (!value.empty()) query.append("&").append(name).append("=").append(UriEncode(value));
    };
    add("prefix", options.prefix);
    add("delimiter", options.delimiter);
    add("continuation-token", options.continuation_token);
    add("start-after", options.start_after);
    if (options.max_keys > 0) add("max-keys", std::to_string(options.max_keys));
    Call call{"GET", std::string(bucket), "", query, {}, {}, ""};
    std::string body;
    internal::MemorySink sink(&body, 64 << 20);
    HttpResponse response;
    SPARKIFY_RETURN_IF_ERROR(Runner(options_).Run(call, &sink, &response));
    return internal::ParseListObjectsV2(body);
  });
}

Result<std::string> S3Client::PresignUrl(std::string_view method, std::string_view bucket,
                                         std::string_view key, int64_t expires_seconds,
                                         const ResponseOverrides& overrides) {
  return Guard([&]() -> Result<std::string> {
    SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, key, true));
    if (method != "GET" && method != "PUT") {
      return Status::InvalidArgument("presigned URLs are for GET or PUT");
    }
    if (expires_seconds < 1 || expires_seconds > sigv4::kMaxPresignExpires) {
      return Status::InvalidArgument("expires must be 1..604800 seconds");
    }
    // S3's response-* parameters, in the order the signature sorts them.
    std::string query;
    auto add = [&query](std::string_view name, const std::string& value) {
      if (value.empty()) return;
      query.append(query.empty() ? "" : "&").append(name).append("=").append(UriEncode(value));
    };
    add("response-cache-control", overrides.cache_control);
    add("response-content-disposition", overrides.content_disposition);
    add("response-content-type", overrides.content_type);
    if (!query.empty() && method != "GET") {
      return Status::InvalidArgument("response overrides are for presigned GETs");
    }
    SPARKIFY_ASSIGN_OR_RETURN(internal::Endpoint endpoint,
                              internal::ParseEndpoint(options_.endpoint));
    internal::Target target = internal::TargetFor(endpoint, options_.addressing, bucket, key);
    sigv4::SignRequest sr;
    sr.method = std::string(method);
    sr.scheme = endpoint.scheme;
    sr.host = target.host;
    sr.decoded_path = target.decoded_path;
    sr.raw_query = query;
    sr.region = options_.region;
    sr.time = options_.clock->Now();
    SPARKIFY_ASSIGN_OR_RETURN(sigv4::Credentials signing_key,
                              internal::PresignKey(options_, sr.time, &expires_seconds));
    std::string url = sigv4::PresignUrl(sr, signing_key, expires_seconds);
    if (url.empty()) return Status::Internal("signing failed");
    return url;
  });
}

std::optional<TimePoint> S3Client::KeyExpiration() const {
  return options_.credential_source ? options_.credential_source->expiration() : std::nullopt;
}

Result<std::string> S3Client::BucketOrigin(std::string_view bucket) const {
  SPARKIFY_ASSIGN_OR_RETURN(internal::Endpoint endpoint,
                            internal::ParseEndpoint(options_.endpoint));
  internal::Target target = internal::TargetFor(endpoint, options_.addressing, bucket, "x");
  return endpoint.scheme + "://" + target.host;
}

}  // namespace sparkify::s3client
