// Image fetching over http(s) with strict limits, for URLs that come from requests.
//
// HttpFetcher (over httpclient.h) for every hop of a fetch:
//   - accepts only http:// and https:// URLs without user credentials;
//   - resolves the host itself (Resolver), refuses the URL when ANY of its addresses is
//     forbidden (address.h: loopback, private, link-local incl. 169.254.169.254, unspecified,
//     multicast, ...) unless allow_private is set, and pins the connection to exactly the
//     checked addresses (httpclient::Pin); a connect check re-checks the address, so
//     DNS rebinding between check and connect cannot reach a forbidden address;
//   - follows at most max_redirects redirects itself, each hop checked like the first;
//   - never uses a proxy, never decompresses (no Accept-Encoding), sends no cookies;
//   - answers with an error unless the status is 200, the Content-Type is image/*, and the
//     body starts with JPEG, PNG or WebP magic bytes (vision::SniffImageFormat);
//   - aborts while streaming once the body passes max_bytes (and before, from Content-Length);
//   - bounds connecting (connect_timeout, per hop) and the whole fetch (total_timeout, all
//     hops together; name resolution by getaddrinfo cannot be interrupted and may overrun it
//     by the system resolver's own timeout).
// Errors name the reason: InvalidArgument (bad URL, forbidden address, too many redirects,
// not an image), NotFound/PermissionDenied/Unavailable (HTTP status), ResourceExhausted (too
// large), DeadlineExceeded (timeouts), Unavailable (cannot resolve or connect).
//
// Thread-safety: Fetch may be called concurrently (each call has its own connection).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fetch/address.h"

namespace sparkify::fetch {

// Name resolution, injectable so tests can make a name resolve to any address.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // Every address of `host` (an IP literal resolves to itself). Unavailable when it has none.
  virtual Result<std::vector<IpAddress>> Resolve(const std::string& host) = 0;
  // getaddrinfo (AF_UNSPEC, SOCK_STREAM). Thread-safe.
  static Resolver& System();
};

struct FetchOptions {
  // Largest body accepted. Default: 16 MiB (album covers are ~100 KB).
  uint64_t max_bytes = 16u << 20;
  // Per hop, connecting (TCP and TLS). Default: 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // The whole fetch, redirects included. Default: 20 s.
  std::chrono::milliseconds total_timeout{20000};
  // Redirects followed at most. Default: 3.
  int max_redirects = 3;
  // Allow loopback, private, link-local and the other forbidden addresses (local tests, an
  // image server on a private network). Default: false.
  bool allow_private = false;
  // Exact "ADDRESS:PORT" destinations allowed even though forbidden ("127.0.0.1:8080",
  // "[::1]:8080"): one trusted internal image server without opening all private space.
  std::vector<std::string> allowed_endpoints;
  bool verify_tls = true;
  std::string user_agent = "sparkify-function/0.1";
  // When set and true, fetches in progress stop within about a second (libcurl's progress
  // callback) and fail with Unavailable "cancelled". Must outlive the fetcher. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};

struct FetchedImage {
  std::string body;
  std::string content_type;  // as sent, e.g. "image/jpeg"
  std::string final_url;     // after redirects
  int redirects = 0;
};

// Where image bytes come from; the pipeline uses this interface so tests can inject fakes.
class ImageFetcher {
 public:
  virtual ~ImageFetcher() = default;
  virtual Result<FetchedImage> Fetch(const std::string& url) = 0;
  // The same, bounded by `budget` too (what is left of the caller's deadline) when that is
  // shorter than the fetcher's own limits. Default: Fetch(url), without the tighter bound.
  virtual Result<FetchedImage> FetchWithin(const std::string& url,
                                           std::chrono::milliseconds budget) {
    (void)budget;
    return Fetch(url);
  }
};

class HttpFetcher final : public ImageFetcher {
 public:
  // `resolver` must outlive the fetcher.
  explicit HttpFetcher(FetchOptions options, Resolver* resolver = &Resolver::System());
  Result<FetchedImage> Fetch(const std::string& url) override;
  Result<FetchedImage> FetchWithin(const std::string& url,
                                   std::chrono::milliseconds budget) override;
  const FetchOptions& options() const { return options_; }

 public:
  // One hop's outcome: a redirect to follow, or (without one) the image.
  struct Hop {
    std::optional<std::string> redirect;
    FetchedImage image;
  };

 private:
  // Follows up to max_redirects redirects, each hop checked like the first, within `total`.
  Result<FetchedImage> FetchFor(const std::string& url, std::chrono::milliseconds total);
  // One request: the URL parsed, its host resolved and checked, the transfer pinned to the
  // checked addresses.
  Result<Hop> FetchHop(const std::string& url, std::chrono::steady_clock::time_point deadline,
                       std::chrono::milliseconds total);

  FetchOptions options_;
  Resolver* resolver_;
};

}  // namespace sparkify::fetch
