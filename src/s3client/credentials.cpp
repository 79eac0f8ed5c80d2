#include "s3client/credentials.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/strings.h"
#include "httpclient/httpclient.h"

namespace sparkify::s3client {
namespace {

constexpr std::string_view kEcsHost = "169.254.170.2";
constexpr auto kMinRefreshBefore = std::chrono::minutes(1);
constexpr auto kRetryEvery = std::chrono::seconds(10);
constexpr uint64_t kMaxAnswer = 64 * 1024;

// The host of "scheme://host[:port]/..." lower-cased, IPv6 kept in brackets; nullopt for a
// URL without one or with user info.
std::optional<std::string> HostOf(std::string_view url, std::string_view scheme) {
  std::string_view rest = url.substr(scheme.size() + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host.empty()) return std::nullopt;
  return AsciiLowerString(host);
}

// Where the SDKs let a container credentials URL go in plain http.
bool PlainHttpAllowed(const std::string& host) {
  if (host == "localhost" || host == "[::1]" || host == kEcsHost || host == "169.254.170.23" ||
      host == "[fd00:ec2::23]") {
    return true;
  }
  // 127.0.0.0/8, as a dotted quad.
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

Result<std::optional<ContainerEndpoint>> ContainerEndpointFrom(
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  ContainerEndpoint endpoint;
  if (auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
      relative && !relative->empty()) {
    if (relative->front() != '/') {
      return Status::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with /");
    }
    endpoint.url = "http://";
    endpoint.url += kEcsHost;
    endpoint.url += *relative;
  } else if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full && !full->empty()) {
    const bool https = full->rfind("https://", 0) == 0;
    const bool http = full->rfind("http://", 0) == 0;
    auto host = https || http ? HostOf(*full, https ? "https" : "http") : std::nullopt;
    if (!host) {
      return Status::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or https:// URL with a host");
    }
    if (http && !PlainHttpAllowed(*host)) {
      return Status::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to a loopback address or the "
          "containers' link-local one (169.254.170.2, 169.254.170.23, [fd00:ec2::23]); use https");
    }
    endpoint.url = *full;
  } else {
    return std::optional<ContainerEndpoint>();
  }
  if (auto token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN"); token && !token->empty()) {
    endpoint.authorization = *token;
  } else if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && !file->empty()) {
    auto text = ReadFileToString(*file, 16 * 1024);
    if (!text.ok()) {
      return Status::IOError("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " +
                             std::string(text.status().message()));
    }
    endpoint.authorization = std::string(TrimAsciiWhitespace(*text));
  }
  if (endpoint.authorization.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("the container authorization token has a line break");
  }
  return std::optional<ContainerEndpoint>(std::move(endpoint));
}

Result<std::pair<sigv4::Credentials, TimePoint>> ParseContainerCredentials(
    const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("the credentials endpoint's answer is not a JSON object");
  }
  auto text = [&](const char* name) -> std::optional<std::string> {
    auto it = json.find(name);
    if (it == json.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  auto id = text("AccessKeyId");
  auto secret = text("SecretAccessKey");
  auto token = text("Token");
  auto expiration = text("Expiration");
  if (!id || !secret || !token || !expiration) {
    return Status::InvalidArgument(
        "the credentials endpoint's answer lacks AccessKeyId, SecretAccessKey, Token or "
        "Expiration");
  }
  auto end = ParseIso8601(*expiration);
  if (!end) {
    return Status::InvalidArgument(
        "the credentials endpoint's Expiration is not an ISO 8601 "
        "UTC time");
  }
  return std::make_pair(sigv4::Credentials{*id, *secret, *token}, *end);
}

std::shared_ptr<CredentialSource> CredentialSource::Fixed(sigv4::Credentials credentials) {
  return std::make_shared<CredentialSource>(std::move(credentials), std::nullopt, std::nullopt);
}

Result<std::shared_ptr<CredentialSource>> CredentialSource::FromContainer(
    ContainerEndpoint endpoint) {
  if (endpoint.refresh_before < kMinRefreshBefore) endpoint.refresh_before = kMinRefreshBefore;
  auto source =
      std::make_shared<CredentialSource>(sigv4::Credentials{}, std::move(endpoint), std::nullopt);
  SPARKIFY_RETURN_IF_ERROR(source->Refresh());
  return source;
}

CredentialSource::CredentialSource(sigv4::Credentials credentials,
                                   std::optional<ContainerEndpoint> endpoint,
                                   std::optional<TimePoint> expiration)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      expiration_(expiration) {}

std::optional<TimePoint> CredentialSource::expiration() {
  std::lock_guard lock(mu_);
  return expiration_;
}

sigv4::Credentials CredentialSource::Current() {
  if (endpoint_) {
    const TimePoint now = endpoint_->clock->Now();
    bool due = false;
    {
      std::lock_guard lock(mu_);
      due = (!expiration_ || *expiration_ - now < endpoint_->refresh_before) &&
            (!last_attempt_ || now - *last_attempt_ >= kRetryEvery);
    }
    // One caller fetches; the others sign with the key held meanwhile.
    if (due) {
      std::unique_lock fetching(fetch_mu_, std::try_to_lock);
      if (fetching.owns_lock()) {
        if (Status s = Refresh(); !s.ok()) {
          spdlog::warn("credentials: could not renew the key from {}: {}", endpoint_->url,
                       s.message());
        }
      }
    }
  }
  std::lock_guard lock(mu_);
  return credentials_;
}

Status CredentialSource::Refresh() {
  const ContainerEndpoint& e = *endpoint_;
  {
    std::lock_guard lock(mu_);
    last_attempt_ = e.clock->Now();
  }
  httpclient::Request request;
  request.url = e.url;
  if (!e.authorization.empty()) request.headers.emplace_back("Authorization", e.authorization);
  httpclient::Options options;
  options.connect_timeout = e.timeout;
  options.timeout = e.timeout;
  options.max_content_length = kMaxAnswer;
  std::string body;
  httpclient::StringSink sink(&body, kMaxAnswer, "the credentials endpoint's answer");
  httpclient::Response response;
  SPARKIFY_RETURN_IF_ERROR(httpclient::Perform(request, options, &sink, &response));
  if (response.status != 200) {
    return Status::Unavailable("the credentials endpoint answered HTTP " +
                               std::to_string(response.status));
  }
  SPARKIFY_ASSIGN_OR_RETURN(auto parsed, ParseContainerCredentials(body));
  if (parsed.second <= e.clock->Now()) {
    return Status::Unavailable("the credentials endpoint gave a key that has already expired");
  }
  std::lock_guard lock(mu_);
  // Renewals are logged (the first key is the caller's to announce).
  const bool changed = !credentials_.access_key_id.empty() &&
                       parsed.first.access_key_id != credentials_.access_key_id;
  credentials_ = std::move(parsed.first);
  expiration_ = parsed.second;
  if (changed) {
    spdlog::info("credentials: renewed: key {} from the container endpoint, until {}",
                 credentials_.access_key_id, FormatIso8601(*expiration_));
  }
  return Status::OK();
}

}  // namespace sparkify::s3client
