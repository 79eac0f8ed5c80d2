#include "fetch/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "fetch/address.h"

namespace sparkify::fetch {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of the URL, or "" when it has none.
std::string Part(CURLU* u, CURLUPart what, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, what, &value, flags) != CURLUE_OK || value == nullptr) return "";
  std::string out = value;
  curl_free(value);
  return out;
}

}  // namespace

Result<UrlParts> ParseFetchUrl(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return Status::Internal("curl_url failed");
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    return Status::InvalidArgument(std::string("malformed URL: ") + curl_url_strerror(rc));
  }
  UrlParts p;
  p.scheme = Part(u.get(), CURLUPART_SCHEME);
  std::transform(p.scheme.begin(), p.scheme.end(), p.scheme.begin(), ::tolower);
  if (p.scheme != "http" && p.scheme != "https") {
    return Status::InvalidArgument("only http and https URLs are fetched, not " + p.scheme);
  }
  if (!Part(u.get(), CURLUPART_USER).empty() || !Part(u.get(), CURLUPART_PASSWORD).empty()) {
    return Status::InvalidArgument("URLs with a user name or password are not fetched");
  }
  if (!Part(u.get(), CURLUPART_ZONEID).empty()) {
    return Status::InvalidArgument("URLs with an IPv6 zone id are not fetched");
  }
  p.host = Part(u.get(), CURLUPART_HOST);
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
  }
  std::transform(p.host.begin(), p.host.end(), p.host.begin(), ::tolower);
  if (p.host.empty()) return Status::InvalidArgument("the URL has no host");
  p.host_is_ip = IpAddress::Parse(p.host).has_value();
  std::string port = Part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  p.port = std::atoi(port.c_str());
  if (p.port <= 0 || p.port > 65535) return Status::InvalidArgument("the URL has no valid port");
  return p;
}

}  // namespace sparkify::fetch
