#include "fetch/fetcher.h"

#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "fetch/url.h"
#include "vision/image_header.h"

namespace sparkify::fetch {
namespace {

using SteadyClock = std::chrono::steady_clock;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class SystemResolver final : public Resolver {
 public:
  Result<std::vector<IpAddress>> Resolve(const std::string& host) override {
    if (auto literal = IpAddress::Parse(host)) return std::vector<IpAddress>{*literal};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      return Status::Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    std::vector<IpAddress> out;
    for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
      auto a = IpAddress::FromSockaddr(p->ai_addr);
      if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
    }
    freeaddrinfo(res);
    if (out.empty()) return Status::Unavailable("cannot resolve " + host + ": no address");
    return out;
  }
};

std::string Bracketed(const IpAddress& a) {
  std::string out;
  if (a.v6) out.push_back('[');
  out.append(a.ToString());
  if (a.v6) out.push_back(']');
  return out;
}

// What one hop's callbacks share with the code that drives the transfer.
struct HopState {
  const FetchOptions* options = nullptr;
  CURL* curl = nullptr;
  std::vector<IpAddress> pinned;  // the checked addresses; connections go only there
  int port = 0;
  std::string body;
  uint64_t discarded = 0;  // bytes of a redirect's body
  std::string content_type;
  long status = 0;
  bool checked_head = false;
  Status abort;  // why a callback stopped the transfer
};

bool EndpointAllowed(const FetchOptions& o, const IpAddress& a, int port) {
  const std::string ep = Bracketed(a) + ":" + std::to_string(port);
  return std::find(o.allowed_endpoints.begin(), o.allowed_endpoints.end(), ep) !=
         o.allowed_endpoints.end();
}

// nullopt when `a` may be reached on `port`; else why not.
std::optional<std::string> Refusal(const FetchOptions& o, const IpAddress& a, int port) {
  if (o.allow_private || EndpointAllowed(o, a, port)) return std::nullopt;
  if (auto why = ForbiddenReason(a)) return *why;
  return std::nullopt;
}

// libcurl calls this about once a second and while data flows; non-zero aborts the transfer.
int OnProgress(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<HopState*>(clientp);
  if (st->options->cancel == nullptr || !st->options->cancel->load()) return 0;
  st->abort = Status::Unavailable("cancelled");
  return 1;
}

curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* st = static_cast<HopState*>(clientp);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  auto a = IpAddress::FromSockaddr(&address->addr);
  if (!a) {
    st->abort = Status::InvalidArgument("refused: not an IP connection");
    return CURL_SOCKET_BAD;
  }
  if (std::find(st->pinned.begin(), st->pinned.end(), *a) == st->pinned.end()) {
    st->abort = Status::InvalidArgument("refused: connection to " + a->ToString() +
                                        ", which is not the checked address");
    return CURL_SOCKET_BAD;
  }
  if (auto why = Refusal(*st->options, *a, st->port)) {
    st->abort = Status::InvalidArgument("refused: " + *why);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

size_t OnHeader(char* data, size_t size, size_t n, void* userdata) {
  auto* st = static_cast<HopState*>(userdata);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    st->content_type.clear();  // a new response (after 100 Continue, say)
  } else if (line.size() > 13) {
    std::string name(line.substr(0, 13));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (name == "content-type:") {
      std::string_view v = line.substr(13);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
      }
      st->content_type = std::string(v);
    }
  }
  return size * n;
}

Status HttpStatusError(long status) {
  std::string msg = "HTTP " + std::to_string(status);
  if (status == 404 || status == 410) return Status::NotFound(msg + " (no such image)");
  if (status == 401 || status == 403) return Status::PermissionDenied(msg + " (access refused)");
  if (status == 429 || status >= 500) return Status::Unavailable(msg + " (server unavailable)");
  return Status::InvalidArgument(msg);
}

// Checks the response head once the first body bytes arrive: a 200 with an image type.
Status CheckHead(const HopState& st) {
  if (st.status >= 300 && st.status < 400) return Status::OK();  // a redirect: body ignored
  if (st.status != 200) return HttpStatusError(st.status);
  std::string type = st.content_type.substr(0, st.content_type.find(';'));
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (!type.starts_with("image/")) {
    return Status::InvalidArgument("not an image: Content-Type " +
                                   (type.empty() ? std::string("missing") : "'" + type + "'"));
  }
  return Status::OK();
}

size_t OnBody(char* data, size_t size, size_t n, void* userdata) {
  auto* st = static_cast<HopState*>(userdata);
  const size_t bytes = size * n;
  if (!st->checked_head) {
    st->checked_head = true;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
    st->abort = CheckHead(*st);
    if (!st->abort.ok()) return 0;
  }
  const uint64_t kept = st->status == 200 ? st->body.size() : st->discarded;
  if (kept + bytes > st->options->max_bytes) {
    st->abort = Status::ResourceExhausted("too large: more than " +
                                          std::to_string(st->options->max_bytes) + " bytes");
    return 0;
  }
  if (st->status != 200) {  // a redirect's body: discarded (bounded all the same)
    st->discarded += bytes;
    return bytes;
  }
  const size_t before = st->body.size();
  st->body.append(data, bytes);
  if (before < 12 && st->body.size() >= 12 && !vision::SniffImageFormat(st->body)) {
    st->abort = Status::InvalidArgument("not an image: the body is not JPEG, PNG or WebP (" +
                                        st->content_type + " claimed)");
    return 0;
  }
  return bytes;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// InvalidArgument when any of the host's addresses may not be reached.
Status CheckAddresses(const FetchOptions& options, const UrlParts& parts,
                      const std::vector<IpAddress>& addresses) {
  for (const IpAddress& a : addresses) {
    if (auto why = Refusal(options, a, parts.port)) {
      // "127.0.0.1 is a loopback address", not "... a loopback address 127.0.0.1" again.
      std::string what = *why;
      const std::string address = a.ToString();
      if (parts.host_is_ip) {
        if (size_t at = what.find(" " + address); at != std::string::npos) {
          what.erase(at, address.size() + 1);
        }
      }
      return Status::InvalidArgument("refused: " + parts.host + " is a " + what +
                                     "; only addresses on the public internet are fetched");
    }
  }
  return Status::OK();
}

// The Status of a finished transfer.
Status TransferError(const FetchOptions& options, CURLcode rc, CURL* curl, const UrlParts& parts,
                     std::chrono::milliseconds total) {
  switch (rc) {
    case CURLE_OK:
      return Status::OK();
    case CURLE_OPERATION_TIMEDOUT: {
      double connect_time = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME, &connect_time);
      if (connect_time <= 0) {
        return Status::DeadlineExceeded("connecting to " + parts.host + " timed out");
      }
      return Status::DeadlineExceeded("timed out after " + std::to_string(total.count()) + " ms");
    }
    case CURLE_FILESIZE_EXCEEDED:
      return Status::ResourceExhausted("too large: Content-Length over " +
                                       std::to_string(options.max_bytes) + " bytes");
    case CURLE_COULDNT_CONNECT:
      return Status::Unavailable("cannot connect to " + parts.host + ":" +
                                 std::to_string(parts.port));
    default:
      return Status::Unavailable(std::string("transfer failed: ") + curl_easy_strerror(rc));
  }
}

// What a completed hop gives: a redirect to follow, or the image (checked: an image/* type and
// JPEG, PNG or WebP bytes).
Result<HttpFetcher::Hop> HopOutcome(HopState& st) {
  HttpFetcher::Hop out;
  if (st.status >= 300 && st.status < 400) {
    char* location = nullptr;
    curl_easy_getinfo(st.curl, CURLINFO_REDIRECT_URL, &location);
    if (st.status == 304 || st.status == 300 || location == nullptr) {
      return Status::InvalidArgument("HTTP " + std::to_string(st.status) +
                                     " without a redirect to follow");
    }
    out.redirect = location;
    return out;
  }
  if (!st.checked_head) {  // no body at all
    st.abort = CheckHead(st);
    if (!st.abort.ok()) return st.abort;
  }
  if (!vision::SniffImageFormat(st.body)) {
    return Status::InvalidArgument(st.body.empty()
                                       ? std::string("empty body")
                                       : "not an image: the body is not JPEG, PNG or WebP");
  }
  out.image.body = std::move(st.body);
  out.image.content_type = std::move(st.content_type);
  return out;
}

}  // namespace

Resolver& Resolver::System() {
  static SystemResolver resolver;
  return resolver;
}

HttpFetcher::HttpFetcher(FetchOptions options, Resolver* resolver)
    : options_(std::move(options)), resolver_(resolver) {}

Result<FetchedImage> HttpFetcher::Fetch(const std::string& url) {
  return FetchFor(url, options_.total_timeout);
}

Result<FetchedImage> HttpFetcher::FetchWithin(const std::string& url,
                                              std::chrono::milliseconds budget) {
  return FetchFor(url, std::min(budget, options_.total_timeout));
}

Result<FetchedImage> HttpFetcher::FetchFor(const std::string& original_url,
                                           std::chrono::milliseconds total) {
  InitCurlOnce();
  const auto deadline = SteadyClock::now() + total;
  std::string url = original_url;
  for (int hop = 0;; ++hop) {
    SPARKIFY_ASSIGN_OR_RETURN(Hop got, FetchHop(url, deadline, total));
    if (got.redirect.empty()) {
      got.image.final_url = url;
      got.image.redirects = hop;
      return std::move(got.image);
    }
    if (hop >= options_.max_redirects) {
      return Status::InvalidArgument("too many redirects (more than " +
                                     std::to_string(options_.max_redirects) + ")");
    }
    url = std::move(got.redirect);
  }
}

Result<HttpFetcher::Hop> HttpFetcher::FetchHop(const std::string& url,
                                               std::chrono::steady_clock::time_point deadline,
                                               std::chrono::milliseconds total) {
  SPARKIFY_ASSIGN_OR_RETURN(UrlParts parts, ParseFetchUrl(url));
  SPARKIFY_ASSIGN_OR_RETURN(std::vector<IpAddress> addresses, resolver_->Resolve(parts.host));
  SPARKIFY_RETURN_IF_ERROR(CheckAddresses(options_, parts, addresses));
  auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  if (remaining.count() <= 0) {
    return Status::DeadlineExceeded("timed out after " + std::to_string(total.count()) + " ms");
  }

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Internal("curl_easy_init failed");
  HopState st;
  st.options = &options_;
  st.curl = curl.get();
  st.pinned = addresses;
  st.port = parts.port;

  std::unique_ptr<curl_slist, SlistDeleter> resolve;
  if (!parts.host_is_ip) {
    std::string entry = parts.host + ":" + std::to_string(parts.port) + ":";
    for (size_t i = 0; i < addresses.size(); ++i) {
      if (i > 0) entry.push_back(',');
      entry.append(Bracketed(addresses[i]));
    }
    resolve.reset(curl_slist_append(nullptr, entry.c_str()));
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(
      curl_slist_append(nullptr, "Accept: image/jpeg, image/png, image/webp, image/*;q=0.8"));

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &st);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options_.connect_timeout, remaining).count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_bytes));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  if (options_.cancel != nullptr) {
    if (options_.cancel->load()) return Status::Unavailable("cancelled");
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);

  CURLcode rc = curl_easy_perform(c);
  if (!st.abort.ok()) return st.abort;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st.status);
  SPARKIFY_RETURN_IF_ERROR(TransferError(options_, rc, c, parts, total));
  return HopOutcome(st);
}

}  // namespace sparkify::fetch
