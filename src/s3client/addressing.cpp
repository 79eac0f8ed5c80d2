#include "s3client/internal/addressing.h"

namespace sparkify::s3client::internal {
namespace {

constexpr std::string_view kAwsHost = "s3.amazonaws.com";

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint e;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    e.scheme = "https";
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    e.scheme = "http";
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("the endpoint must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return Status::InvalidArgument("the endpoint has no host");
  for (char c : rest) {
    if (!IsHostChar(c)) {
      return Status::InvalidArgument("the endpoint must be scheme://host[:port], with no path");
    }
  }
  std::string_view default_port = e.scheme == "https" ? ":443" : ":80";
  if (rest.size() > default_port.size() &&
      rest.substr(rest.size() - default_port.size()) == default_port) {
    rest.remove_suffix(default_port.size());
  }
  e.host = std::string(rest);
  return e;
}

bool IsVirtualHostable(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  if (!IsLowerAlnum(bucket.front()) || !IsLowerAlnum(bucket.back())) return false;
  for (char c : bucket) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

Target TargetFor(const Endpoint& endpoint, Addressing addressing, std::string_view bucket,
                 std::string_view key) {
  bool virtual_host =
      addressing == Addressing::kVirtualHosted ||
      (addressing == Addressing::kAuto && endpoint.host == kAwsHost && IsVirtualHostable(bucket));
  Target t;
  if (virtual_host) {
    t.host.append(bucket).append(".").append(endpoint.host);
    t.decoded_path.append("/").append(key);
  } else {
    t.host = endpoint.host;
    t.decoded_path.append("/").append(bucket);
    if (!key.empty()) t.decoded_path.append("/").append(key);
  }
  return t;
}

Status CheckNames(std::string_view bucket, std::string_view key, bool need_key) {
  if (bucket.empty()) return Status::InvalidArgument("the bucket name is empty");
  if (bucket.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("a bucket name cannot contain '/'");
  }
  if (need_key && key.empty()) return Status::InvalidArgument("the object key is empty");
  return Status::OK();
}

Result<std::pair<std::string, std::string>> ParseS3Url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("expected s3://BUCKET/KEY");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::InvalidArgument("expected s3://BUCKET/KEY with a bucket and a key");
  }
  return std::make_pair(std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1)));
}

}  // namespace sparkify::s3client::internal
