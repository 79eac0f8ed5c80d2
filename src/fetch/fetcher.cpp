#include "fetch/fetcher.h"

#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>

#include "common/strings.h"
#include "fetch/url.h"
#include "httpclient/httpclient.h"
#include "vision/image_header.h"

namespace sparkify::fetch {
namespace {

using SteadyClock = std::chrono::steady_clock;

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

// Run before every connection: only to the checked addresses, and only when still allowed, so
// DNS rebinding between the check and the connection cannot reach a forbidden address.
Status CheckConnection(const FetchOptions& options, const std::vector<IpAddress>& pinned, int port,
                       const sockaddr* address) {
  auto a = IpAddress::FromSockaddr(address);
  if (!a) return Status::InvalidArgument("refused: not an IP connection");
  if (std::find(pinned.begin(), pinned.end(), *a) == pinned.end()) {
    return Status::InvalidArgument("refused: connection to " + a->ToString() +
                                   ", which is not the checked address");
  }
  if (auto why = Refusal(options, *a, port)) return Status::InvalidArgument("refused: " + *why);
  return Status::OK();
}

Status HttpStatusError(long status) {
  std::string msg = "HTTP " + std::to_string(status);
  if (status == 404 || status == 410) return Status::NotFound(msg + " (no such image)");
  if (status == 401 || status == 403) return Status::PermissionDenied(msg + " (access refused)");
  if (status == 429 || status >= 500) return Status::Unavailable(msg + " (server unavailable)");
  return Status::InvalidArgument(msg);
}

// One hop's answer as it arrives: the head must be a 200 with an image type (or a redirect,
// whose body is discarded), the body must start like an image and stay under max_bytes.
class HopSink final : public httpclient::Sink {
 public:
  explicit HopSink(const FetchOptions& options) : options_(options) {}

  Status OnHead(const httpclient::Response& head) override {
    status_ = head.status;
    content_type_.clear();
    for (const auto& [name, value] : head.headers) {  // the last one, as a browser takes it
      if (EqualsIgnoreCase(name, "content-type")) content_type_ = value;
    }
    abort_ = CheckHead();
    return abort_;
  }

  Status OnBody(std::string_view data) override {
    abort_ = Take(data);
    return abort_;
  }

  long status() const { return status_; }
  const Status& abort() const { return abort_; }
  std::string& body() { return body_; }
  std::string& content_type() { return content_type_; }

 private:
  Status CheckHead() const {
    if (status_ >= 300 && status_ < 400) return Status::OK();  // a redirect: body ignored
    if (status_ != 200) return HttpStatusError(status_);
    std::string type = AsciiLowerString(content_type_.substr(0, content_type_.find(';')));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    if (!type.starts_with("image/")) {
      return Status::InvalidArgument("not an image: Content-Type " +
                                     (type.empty() ? std::string("missing") : "'" + type + "'"));
    }
    return Status::OK();
  }

  Status Take(std::string_view data) {
    const uint64_t kept = status_ == 200 ? body_.size() : discarded_;
    if (kept + data.size() > options_.max_bytes) {
      return Status::ResourceExhausted("too large: more than " +
                                       std::to_string(options_.max_bytes) + " bytes");
    }
    if (status_ != 200) {  // a redirect's body: discarded (bounded all the same)
      discarded_ += data.size();
      return Status::OK();
    }
    const size_t before = body_.size();
    body_.append(data);
    if (before < 12 && body_.size() >= 12 && !vision::SniffImageFormat(body_)) {
      return Status::InvalidArgument("not an image: the body is not JPEG, PNG or WebP (" +
                                     content_type_ + " claimed)");
    }
    return Status::OK();
  }

  const FetchOptions& options_;
  long status_ = 0;
  std::string content_type_;
  std::string body_;
  uint64_t discarded_ = 0;  // bytes of a redirect's body
  Status abort_;            // why the sink stopped the transfer
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

// The fetcher's words for a failed transfer (`failure`, from httpclient::Perform).
Status TransferError(const FetchOptions& options, const Status& failure,
                     const httpclient::Response& response, const UrlParts& parts,
                     std::chrono::milliseconds total) {
  switch (failure.code()) {
    case Status::Code::kDeadlineExceeded:
      if (!response.connected) {
        return Status::DeadlineExceeded("connecting to " + parts.host + " timed out");
      }
      return Status::DeadlineExceeded("timed out after " + std::to_string(total.count()) + " ms");
    case Status::Code::kResourceExhausted:
      return Status::ResourceExhausted("too large: Content-Length over " +
                                       std::to_string(options.max_bytes) + " bytes");
    case Status::Code::kUnavailable:
    case Status::Code::kIOError:
      if (failure.message() == "cancelled") return failure;
      if (!response.connected && failure.code() == Status::Code::kUnavailable) {
        return Status::Unavailable("cannot connect to " + parts.host + ":" +
                                   std::to_string(parts.port));
      }
      return Status::Unavailable("transfer failed: " + failure.message());
    default:
      return failure;  // the fetcher's own (Internal: out of memory, say)
  }
}

// What a completed hop gives: a redirect to follow, or the image (checked: an image/* type and
// JPEG, PNG or WebP bytes).
Result<HttpFetcher::Hop> HopOutcome(HopSink& sink, const httpclient::Response& response) {
  HttpFetcher::Hop out;
  if (sink.status() >= 300 && sink.status() < 400) {
    if (sink.status() == 304 || sink.status() == 300 || response.redirect_url.empty()) {
      return Status::InvalidArgument("HTTP " + std::to_string(sink.status()) +
                                     " without a redirect to follow");
    }
    out.redirect = response.redirect_url;
    return out;
  }
  if (!vision::SniffImageFormat(sink.body())) {
    return Status::InvalidArgument(sink.body().empty()
                                       ? std::string("empty body")
                                       : "not an image: the body is not JPEG, PNG or WebP");
  }
  out.image.body = std::move(sink.body());
  out.image.content_type = std::move(sink.content_type());
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
  const auto deadline = SteadyClock::now() + total;
  std::string url = original_url;
  for (int hop = 0;; ++hop) {
    SPARKIFY_ASSIGN_OR_RETURN(Hop got, FetchHop(url, deadline, total));
    if (!got.redirect) {
      got.image.final_url = url;
      got.image.redirects = hop;
      return std::move(got.image);
    }
    if (hop >= options_.max_redirects) {
      return Status::InvalidArgument("too many redirects (more than " +
                                     std::to_string(options_.max_redirects) + ")");
    }
    url = std::move(*got.redirect);
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

  httpclient::Request request;
  request.url = url;
  request.headers = {{"Accept", "image/jpeg, image/png, image/webp, image/*;q=0.8"}};
  httpclient::Options http;
  if (!parts.host_is_ip) {  // connect only to the addresses just checked
    httpclient::Pin pin{parts.host, parts.port, {}};
    for (const IpAddress& a : addresses) pin.addresses.push_back(Bracketed(a));
    http.pins.push_back(std::move(pin));
  }
  Status refused;
  http.check_connect = [this, &refused, &addresses, &parts](const sockaddr* address) {
    Status verdict = CheckConnection(options_, addresses, parts.port, address);
    if (refused.ok()) refused = verdict;  // the first refusal is the answer
    return verdict;
  };
  http.connect_timeout = std::min(options_.connect_timeout, remaining);
  http.timeout = remaining;
  http.max_content_length = options_.max_bytes;
  http.user_agent = options_.user_agent;
  http.verify_tls = options_.verify_tls;
  http.cancel = options_.cancel;

  HopSink sink(options_);
  httpclient::Response response;
  Status transfer = httpclient::Perform(request, http, &sink, &response);
  if (!refused.ok()) return refused;
  if (!sink.abort().ok()) return sink.abort();
  if (!transfer.ok()) return TransferError(options_, transfer, response, parts, total);
  return HopOutcome(sink, response);
}

}  // namespace sparkify::fetch
