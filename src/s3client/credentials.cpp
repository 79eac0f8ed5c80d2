#include "s3client/credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <thread>

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
  in_addr v4{};  // 127.0.0.0/8, as a dotted quad inet_pton takes (never a name to resolve)
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// The same rule where the connection is made: a name that resolves elsewhere is refused.
Status CheckPlainHttpPeer(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    if ((a >> 24) == 127 || a == 0xA9FEAA02 || a == 0xA9FEAA17) return Status::OK();
  } else if (address->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    static const uint8_t kEksV6[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23};
    if (IN6_IS_ADDR_LOOPBACK(&a) || std::memcmp(a.s6_addr, kEksV6, 16) == 0) return Status::OK();
  }
  return Status::PermissionDenied(
      "the credentials endpoint resolved to an address that is neither loopback nor the "
      "containers' link-local one");
}

// The URL as logged: without its query.
std::string_view Printable(const std::string& url) {
  return std::string_view(url).substr(0, url.find('?'));
}

// "2026-12-06T07:21:00Z", with any fraction of a second and "Z" or "+00:00" (RFC 3339, UTC).
std::optional<TimePoint> ParseUtc(std::string_view s) {
  if (s.size() < 20) return std::nullopt;
  size_t end = 19;
  if (s[end] == '.') {
    ++end;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end == 20) return std::nullopt;
  }
  const std::string_view zone = s.substr(end);
  if (zone != "Z" && zone != "z" && zone != "+00:00" && zone != "-00:00") return std::nullopt;
  return ParseIso8601(std::string(s.substr(0, 19)) + "Z");
}

// Reads and checks the token file.
Result<std::string> ReadToken(const std::string& path) {
  auto text = ReadFileToString(path, 16 * 1024);
  if (!text.ok()) {
    return Status::IOError("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " +
                           std::string(text.status().message()));
  }
  std::string token(TrimAsciiWhitespace(*text));
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("the container authorization token has a line break");
  }
  return token;
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
  if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && !file->empty()) {
    SPARKIFY_RETURN_IF_ERROR(ReadToken(*file).status());  // readable now, read at each fetch
    endpoint.authorization_file = *file;
  } else if (auto token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN"); token && !token->empty()) {
    endpoint.authorization = *token;
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
  auto end = ParseUtc(*expiration);
  if (!end) {
    return Status::InvalidArgument(
        "the credentials endpoint's Expiration is not an RFC 3339 UTC time");
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
  Status fetched;
  const int attempts = std::max(1, source->endpoint_->start_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    fetched = source->Refresh();
    if (fetched.ok()) return source;
  }
  return fetched;
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

bool CredentialSource::Due(TimePoint now) {
  return (!expiration_ || *expiration_ - now < endpoint_->refresh_before) &&
         (!last_attempt_ || now - *last_attempt_ >= kRetryEvery);
}

CredentialSource::Key CredentialSource::CurrentKey() {
  if (endpoint_) {
    const TimePoint now = endpoint_->clock->Now();
    bool due = false;
    bool ended = false;
    {
      std::lock_guard lock(mu_);
      due = Due(now);
      ended = !expiration_ || *expiration_ <= now;
    }
    if (due || ended) {
      // One caller fetches; the others sign with the key held meanwhile, or wait for that
      // fetch when the key held has ended (signing with it would only earn ExpiredToken).
      std::unique_lock fetching(fetch_mu_, std::defer_lock);
      if (ended) {
        fetching.lock();
      } else {
        (void)fetching.try_lock();
      }
      bool still_due = false;
      if (fetching.owns_lock()) {
        std::lock_guard lock(mu_);
        still_due = Due(now);  // another caller may have fetched meanwhile
      }
      if (still_due) {
        if (Status s = Refresh(); !s.ok()) {
          spdlog::warn("credentials: could not renew the key from {}: {}",
                       Printable(endpoint_->url), s.message());
        }
      }
    }
  }
  std::lock_guard lock(mu_);
  return Key{credentials_, expiration_};
}

Status CredentialSource::Refresh() {
  const ContainerEndpoint& e = *endpoint_;
  {
    std::lock_guard lock(mu_);
    last_attempt_ = e.clock->Now();
  }
  httpclient::Request request;
  request.url = e.url;
  std::string authorization = e.authorization;
  if (!e.authorization_file.empty()) {
    SPARKIFY_ASSIGN_OR_RETURN(authorization, ReadToken(e.authorization_file));
  }
  if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
  httpclient::Options options;
  if (e.url.rfind("http://", 0) == 0) options.check_connect = CheckPlainHttpPeer;
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
