#include "lambda/internal/runtime_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "common/strings.h"

namespace sparkify::lambda::internal {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  HttpReply* reply;
  size_t max_body;
  bool overflow = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->reply->body.size() + len > sink->max_body) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->reply->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    sink->reply->headers.clear();  // a new response (after 100 Continue, say)
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(TrimAsciiWhitespace(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  sink->reply->headers.emplace_back(std::move(name), TrimAsciiWhitespace(line.substr(colon + 1)));
  return len;
}

Status FromCurl(CURLcode code, const char* errbuf) {
  std::string msg = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return Status::Unavailable(msg);
    case CURLE_OPERATION_TIMEDOUT:
      return Status::DeadlineExceeded(msg);
    default:
      return Status::Internal(msg);
  }
}

}  // namespace

std::optional<std::string_view> HttpReply::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

struct RuntimeHttp::State {
  std::string base;
  std::string unix_socket;  // empty: TCP
  std::chrono::milliseconds connect_timeout;
  CURL* curl = nullptr;
};

RuntimeHttp::RuntimeHttp(std::string endpoint, std::chrono::milliseconds connect_timeout)
    : state_(std::make_unique<State>()) {
  GlobalInit();
  constexpr std::string_view kUnix = "unix:";
  if (std::string_view(endpoint).starts_with(kUnix)) {
    state_->unix_socket = endpoint.substr(kUnix.size());
    state_->base = "http://localhost/2018-06-01";
  } else {
    state_->base = "http://" + endpoint + "/2018-06-01";
  }
  state_->connect_timeout = connect_timeout;
  state_->curl = curl_easy_init();
  if (state_->curl != nullptr && !state_->unix_socket.empty()) {
    curl_easy_setopt(state_->curl, CURLOPT_UNIX_SOCKET_PATH, state_->unix_socket.c_str());
  }
}

RuntimeHttp::~RuntimeHttp() {
  if (state_->curl != nullptr) curl_easy_cleanup(state_->curl);
}

namespace {

Result<HttpReply> Perform(CURL* curl, const std::string& url, std::chrono::milliseconds connect,
                          std::chrono::milliseconds timeout, size_t max_body, curl_slist* headers) {
  HttpReply reply;
  Sink sink{&reply, max_body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never through a proxy from the environment
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (sink.overflow) {
    return Status::ResourceExhausted("answer of " + url + " is over " + std::to_string(max_body) +
                                     " bytes");
  }
  if (code != CURLE_OK) return FromCurl(code, errbuf);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace

Result<HttpReply> RuntimeHttp::Get(const std::string& path, std::chrono::milliseconds timeout,
                                   size_t max_body) {
  if (state_->curl == nullptr) return Status::Internal("curl_easy_init failed");
  curl_easy_setopt(state_->curl, CURLOPT_HTTPGET, 1L);
  return Perform(state_->curl, state_->base + path, state_->connect_timeout, timeout, max_body,
                 nullptr);
}

Result<HttpReply> RuntimeHttp::Post(const std::string& path, std::string_view body,
                                    const std::vector<std::string>& headers,
                                    std::chrono::milliseconds timeout) {
  if (state_->curl == nullptr) return Status::Internal("curl_easy_init failed");
  curl_slist* list = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(state_->curl, CURLOPT_POST, 1L);
  curl_easy_setopt(state_->curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  curl_easy_setopt(state_->curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  auto reply =
      Perform(state_->curl, state_->base + path, state_->connect_timeout, timeout, 1 << 20, list);
  curl_easy_setopt(state_->curl, CURLOPT_POSTFIELDS, nullptr);
  curl_slist_free_all(list);
  return reply;
}

}  // namespace sparkify::lambda::internal
