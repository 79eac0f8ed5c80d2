// The parts of an image URL the fetcher checks, parsed with libcurl's URL parser (the same one
// that will fetch it). Thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace sparkify::fetch {

struct UrlParts {
  std::string scheme;  // "http" or "https"
  std::string host;    // lowercase name, or an IP address without brackets
  int port = 0;        // explicit or the scheme's default
  bool host_is_ip = false;
};

// InvalidArgument (saying why) unless `url` is an absolute http(s) URL with a host and no
// user name, password or IPv6 zone id.
Result<UrlParts> ParseFetchUrl(const std::string& url);

}  // namespace sparkify::fetch
