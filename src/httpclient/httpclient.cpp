#include "httpclient/httpclient.h"

#include <curl/curl.h>

#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "common/strings.h"

namespace sparkify::httpclient {
namespace {

// libcurl's global state, set up once per process before the first handle.
bool CurlReady() {
  static std::once_flag once;
  static CURLcode rc = CURLE_FAILED_INIT;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc == CURLE_OK;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool Append(Slist* list, const std::string& line) {
  curl_slist* next = curl_slist_append(list->get(), line.c_str());
  if (next == nullptr) return false;
  (void)list->release();  // `next` is the same list, one longer
  list->reset(next);
  return true;
}

// What the callbacks of one exchange share with the code that drives it.
struct Exchange {
  const Request* request = nullptr;
  const Options* options = nullptr;
  Sink* sink = nullptr;
  Response* response = nullptr;
  CURL* curl = nullptr;
  size_t memory_offset = 0;
  uint64_t file_left = 0;
  off_t file_start = 0;  // where the body starts in `file`, to send it again
  bool read_failed = false;
  bool head_delivered = false;
  bool cancelled = false;
  Status abort;    // why a sink stopped the transfer
  Status refusal;  // the first connection the connect check refused
};

size_t OnRead(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  const Body& body = ex->request->body;
  size_t room = size * nitems;
  if (body.file != nullptr) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(room, ex->file_left));
    if (want == 0) return 0;
    size_t n = std::fread(buffer, 1, want, body.file);
    if (n == 0) {
      ex->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    ex->file_left -= n;
    return n;
  }
  std::string_view rest = body.memory.substr(ex->memory_offset);
  size_t n = std::min(room, rest.size());
  std::copy_n(rest.data(), n, buffer);
  ex->memory_offset += n;
  return n;
}

// libcurl rewinds the body to send it again on a fresh connection, when a kept one turned out
// to be closed by the server.
int OnSeek(void* userdata, curl_off_t offset, int origin) {
  auto* ex = static_cast<Exchange*>(userdata);
  const Body& body = ex->request->body;
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  const auto position = static_cast<uint64_t>(offset);
  if (body.file != nullptr) {
    if (position > body.size) return CURL_SEEKFUNC_FAIL;
    if (fseeko(body.file, ex->file_start + static_cast<off_t>(position), SEEK_SET) != 0) {
      return CURL_SEEKFUNC_FAIL;
    }
    ex->file_left = body.size - position;
    return CURL_SEEKFUNC_OK;
  }
  if (position > body.memory.size()) return CURL_SEEKFUNC_FAIL;
  ex->memory_offset = static_cast<size_t>(position);
  return CURL_SEEKFUNC_OK;
}

size_t OnHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  size_t n = size * nitems;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    ex->response->headers.clear();  // a new response (after 100 Continue, say)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  ex->response->headers.emplace_back(std::string(TrimSpaceAndTab(line.substr(0, colon))),
                                     std::string(TrimSpaceAndTab(line.substr(colon + 1))));
  return n;
}

// Fills the response's status line and hands the head to the sink, once.
Status DeliverHead(Exchange* ex) {
  ex->head_delivered = true;
  curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &ex->response->status);
  return ex->sink != nullptr ? ex->sink->OnHead(*ex->response) : Status::OK();
}

size_t OnWrite(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* ex = static_cast<Exchange*>(userdata);
  size_t n = size * nmemb;
  if (!ex->head_delivered) {
    ex->abort = DeliverHead(ex);
    if (!ex->abort.ok()) return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (ex->sink == nullptr) return n;
  ex->abort = ex->sink->OnBody(std::string_view(data, n));
  return ex->abort.ok() ? n : 0;
}

// libcurl calls this about once a second and while data flows; non-zero aborts the transfer.
int OnProgress(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ex = static_cast<Exchange*>(clientp);
  if (!ex->options->cancel->load()) return 0;
  ex->cancelled = true;
  return 1;
}

curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* ex = static_cast<Exchange*>(clientp);
  if (purpose != CURLSOCKTYPE_IPCXN) {
    if (ex->refusal.ok()) {
      ex->refusal = Status::InvalidArgument("refused: not a connection to an address");
    }
    return CURL_SOCKET_BAD;
  }
  Status verdict = ex->options->check_connect(&address->addr);
  if (!verdict.ok()) {
    if (ex->refusal.ok()) ex->refusal = std::move(verdict);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

Status FromCurl(CURLcode rc, const char* detail, const Options& options) {
  std::string message = curl_easy_strerror(rc);
  if (detail != nullptr && *detail != '\0') message += std::string(": ") + detail;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status::DeadlineExceeded(message);
    case CURLE_FILESIZE_EXCEEDED:
      return Status::ResourceExhausted("Content-Length over " +
                                       std::to_string(options.max_content_length) + " bytes");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::Unavailable(message);
    default:
      return Status::IOError(message);
  }
}

// The method and, when there is one, the body.
void SetMethod(CURL* h, const Request& request, Exchange* ex) {
  const Body& body = request.body;
  const uint64_t size = body.file != nullptr ? body.size : body.memory.size();
  const bool has_body = body.file != nullptr || !body.memory.empty();
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    return;
  }
  if (request.method == "GET" && !has_body) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  } else if (request.method == "POST" || has_body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  }
  if (request.method != "PUT" && request.method != "POST") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
  curl_easy_setopt(h, CURLOPT_READDATA, ex);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, ex);
}

void SetConnection(CURL* h, const Options& options, Exchange* ex, curl_slist* pins) {
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!options.environment_proxy) {
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  }
  if (!options.unix_socket.empty()) {
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, options.unix_socket.c_str());
  }
  if (pins != nullptr) curl_easy_setopt(h, CURLOPT_RESOLVE, pins);
  if (options.check_connect) {
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, ex);
  }
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  if (options.cancel != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, ex);
  }
}

Result<Slist> HeaderList(const Request& request) {
  Slist list;
  constexpr std::string_view kLineBreaks("\r\n\0", 3);
  for (const auto& [name, value] : request.headers) {
    // A value that came from elsewhere (a token in a JSON answer, say) must not end the
    // header and start another.
    if (name.empty() || name.find_first_of(kLineBreaks) != std::string::npos ||
        name.find(':') != std::string::npos ||
        value.find_first_of(kLineBreaks) != std::string::npos) {
      return Status::InvalidArgument("header '" + name.substr(0, name.find_first_of(kLineBreaks)) +
                                     "' has a line break or is not a header name");
    }
    // "Name;" is libcurl's way to send a header with an empty value.
    if (!Append(&list, value.empty() ? name + ";" : name + ": " + value)) {
      return Status::Internal("curl_slist_append failed");
    }
  }
  if (!Append(&list, "Expect:")) {  // no 100-continue round trip
    return Status::Internal("curl_slist_append failed");
  }
  return list;
}

Result<Slist> PinList(const Options& options) {
  Slist list;
  for (const Pin& pin : options.pins) {
    std::string entry = pin.host + ":" + std::to_string(pin.port) + ":";
    for (size_t i = 0; i < pin.addresses.size(); ++i) {
      if (i > 0) entry.push_back(',');
      entry.append(pin.addresses[i]);
    }
    if (!Append(&list, entry)) return Status::Internal("curl_slist_append failed");
  }
  return list;
}

// What a finished transfer returns.
Status Outcome(CURLcode rc, const char* error_buffer, Exchange* ex) {
  if (!ex->refusal.ok()) return ex->refusal;
  if (!ex->abort.ok()) return ex->abort;
  if (ex->cancelled) return Status::Unavailable("cancelled");
  if (ex->read_failed) return Status::IOError("reading the request body failed");
  if (rc != CURLE_OK) return FromCurl(rc, error_buffer, *ex->options);
  if (!ex->head_delivered) return DeliverHead(ex);  // a response without a body
  return Status::OK();
}

// One exchange on `h`, whose options were reset.
Status Run(CURL* h, const Request& request, const Options& options, Sink* sink,
           Response* response) {
  *response = Response();
  if (options.cancel != nullptr && options.cancel->load()) {
    return Status::Unavailable("cancelled");
  }
  SPARKIFY_ASSIGN_OR_RETURN(Slist headers, HeaderList(request));
  SPARKIFY_ASSIGN_OR_RETURN(Slist pins, PinList(options));
  Exchange ex;
  ex.request = &request;
  ex.options = &options;
  ex.sink = sink;
  ex.response = response;
  ex.curl = h;
  ex.file_left = request.body.size;
  if (request.body.file != nullptr) {
    ex.file_start = ftello(request.body.file);
    if (ex.file_start < 0) return Status::IOError("the request body's file cannot be positioned");
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, options.path_as_is ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  if (!options.user_agent.empty()) {
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  }
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options.max_content_length));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
  SetMethod(h, request, &ex);
  SetConnection(h, options, &ex, pins.get());

  CURLcode rc = curl_easy_perform(h);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response->status);
  response->connected = connect_us > 0 || response->status != 0;
  char* location = nullptr;
  curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
  response->redirect_url = location != nullptr ? location : "";
  Status result = Outcome(rc, error_buffer, &ex);
  // The handle may outlive the lists, the buffer and `ex` it points to (a Session's does):
  // forget them, keeping the connection.
  curl_easy_reset(h);
  return result;
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};

}  // namespace

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Status Sink::OnHead(const Response&) { return Status::OK(); }

Status StringSink::OnBody(std::string_view data) {
  if (out_->size() + data.size() > cap_) {
    return Status::ResourceExhausted(what_ + " is larger than the " + std::to_string(cap_) +
                                     "-byte limit");
  }
  out_->append(data);
  return Status::OK();
}

Status FileSink::OnBody(std::string_view data) {
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return Status::IOError("writing the answer to its file failed");
  }
  return Status::OK();
}

Status Perform(const Request& request, const Options& options, Sink* sink, Response* response) {
  if (!CurlReady()) return Status::Internal("curl_global_init failed");
  std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  if (!handle) return Status::Internal("curl_easy_init failed");
  return Run(handle.get(), request, options, sink, response);
}

struct Session::Handle {
  std::unique_ptr<CURL, EasyDeleter> curl;
};

Session::Session() : handle_(std::make_unique<Handle>()) {
  if (CurlReady()) handle_->curl.reset(curl_easy_init());
}

Session::~Session() = default;

Status Session::Perform(const Request& request, const Options& options, Sink* sink,
                        Response* response) {
  if (!handle_->curl) return Status::Internal("curl_easy_init failed");
  if (!options.pins.empty() || options.check_connect) {
    // libcurl keeps pins in the handle's DNS cache, and a kept connection is not checked again.
    return Status::InvalidArgument("pins and connect checks are for one-shot exchanges only");
  }
  return Run(handle_->curl.get(), request, options, sink, response);
}

}  // namespace sparkify::httpclient
