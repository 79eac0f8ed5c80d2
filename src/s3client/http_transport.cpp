#include "s3client/internal/http_transport.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace sparkify::s3client::internal {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;

struct Exchange {
  const RequestBody* body = nullptr;
  size_t memory_offset = 0;
  uint64_t file_left = 0;
  bool read_failed = false;
  BodySink* sink = nullptr;
  bool sink_failed = false;
  CURL* handle = nullptr;
  HttpResponse* response = nullptr;
};

bool CurlReady() {
  static std::once_flag once;
  static CURLcode rc = CURLE_FAILED_INIT;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc == CURLE_OK;
}

size_t OnRead(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  size_t room = size * nitems;
  if (ex->body->file != nullptr) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(room, ex->file_left));
    if (want == 0) return 0;
    size_t n = std::fread(buffer, 1, want, ex->body->file);
    if (n == 0) {
      ex->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    ex->file_left -= n;
    return n;
  }
  std::string_view rest = ex->body->memory.substr(ex->memory_offset);
  size_t n = std::min(room, rest.size());
  std::copy_n(rest.data(), n, buffer);
  ex->memory_offset += n;
  return n;
}

size_t OnWrite(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(ex->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    if (ex->sink != nullptr && !ex->sink->Write(std::string_view(data, n))) {
      ex->sink_failed = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }
  std::string& err = ex->response->error_body;
  err.append(data, std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, err.size())));
  return n;
}

size_t OnHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  size_t n = size * nitems;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    ex->response->headers.clear();  // a new response (after 100 Continue, say)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  ex->response->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

Status FromCurl(CURLcode rc, const char* detail) {
  std::string message = std::string(curl_easy_strerror(rc));
  if (detail != nullptr && *detail != '\0') message += std::string(": ") + detail;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status::DeadlineExceeded(message);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::Unavailable(message);
    default:
      return Status::IOError(message);
  }
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

bool MemorySink::Write(std::string_view data) {
  if (out_->size() + data.size() > cap_) {
    overflow_ = true;
    return false;
  }
  out_->append(data);
  return true;
}

Status MemorySink::status() const {
  if (overflow_) {
    return Status::ResourceExhausted("the object is larger than the " + std::to_string(cap_) +
                                     "-byte limit");
  }
  return Status::OK();
}

bool FileSink::Write(std::string_view data) {
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) failed_ = true;
  return !failed_;
}

Status FileSink::status() const {
  return failed_ ? Status::IOError("writing the downloaded object failed") : Status::OK();
}

Status Perform(std::string_view method, const std::string& url, const sigv4::Headers& headers,
               const RequestBody& body, BodySink* sink, const TransportOptions& options,
               HttpResponse* response) {
  if (!CurlReady()) return Status::Internal("curl_global_init failed");
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return Status::Internal("curl_easy_init failed");
  CURL* h = handle.get();

  std::unique_ptr<curl_slist, SlistDeleter> list;
  auto add = [&list](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next != nullptr) {
      list.release();
      list.reset(next);
    }
    return next != nullptr;
  };
  for (const auto& [name, value] : headers) {
    // "Name;" is libcurl's way to send a header with an empty value.
    if (!add(value.empty() ? name + ";" : name + ": " + value)) {
      return Status::Internal("curl_slist_append failed");
    }
  }
  add("Expect:");  // no 100-continue round trip

  Exchange ex;
  ex.body = &body;
  ex.file_left = body.size;
  ex.sink = sink;
  ex.handle = h;
  ex.response = response;
  *response = HttpResponse();
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  // S3 keys may hold "../" or "./": send the path exactly as encoded, never squashed.
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  if (!options.user_agent.empty()) {
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);

  std::string method_text(method);
  if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_off_t size =
        static_cast<curl_off_t>(body.file != nullptr ? body.size : body.memory.size());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &ex);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  if (ex.sink_failed) return sink->status();
  if (ex.read_failed) return Status::IOError("reading the upload body failed");
  if (rc != CURLE_OK) return FromCurl(rc, error_buffer);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response->status);
  return Status::OK();
}

}  // namespace sparkify::s3client::internal
