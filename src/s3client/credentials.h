// Where a client's AWS credentials come from: fixed ones (a key from the environment), or the
// container credentials endpoint that ECS (and EKS Pod Identity) gives a task, which hands
// out its role's temporary key and rotates it. Clients ask for the current key before each
// signature; a source from an endpoint fetches a new key when the one it holds gets close to
// its end, so nothing holds an expired key.
//
// The endpoint, as the AWS SDKs read it from the environment:
//   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  a path on http://169.254.170.2 (what ECS sets)
//   AWS_CONTAINER_CREDENTIALS_FULL_URI      a whole URL: https anywhere, or http only to a
//                                           loopback address or the ECS/EKS link-local ones
//                                           (169.254.170.2, 169.254.170.23, [fd00:ec2::23])
//   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  a file whose contents are sent as the
//                                           Authorization header, read again at every fetch
//                                           (EKS rotates it); wins over
//   AWS_CONTAINER_AUTHORIZATION_TOKEN       the header's value itself
// It answers {"AccessKeyId", "SecretAccessKey", "Token", "Expiration": RFC 3339 UTC time}.
// A plain-http URL is also checked where it connects: only to those addresses.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/clock.h"
#include "common/status.h"
#include "sigv4/sigv4.h"

namespace sparkify::s3client {

struct ContainerEndpoint {
  std::string url;                 // the whole URL, checked by ContainerEndpointFrom
  std::string authorization;       // the Authorization header's value; empty: none
  std::string authorization_file;  // else read from here at every fetch; empty: none
  // A key is replaced once it has less than this left (a URL presigned with it then still
  // lives this long). At least a minute.
  std::chrono::seconds refresh_before{std::chrono::minutes(15)};
  std::chrono::milliseconds timeout{5000};  // one fetch
  int start_attempts = 3;                   // FromContainer's, a second apart
  const Clock* clock = &Clock::System();
};

// Builds the endpoint from the variables above (`env` looks one up). nullopt when neither URI
// variable is set; InvalidArgument for a URL the SDKs would refuse (a plain-http address that
// is not loopback or the containers' link-local one), or IOError for an unreadable token file.
Result<std::optional<ContainerEndpoint>> ContainerEndpointFrom(
    const std::function<std::optional<std::string>(const std::string&)>& env);

class CredentialSource {
 public:
  // Always the same key.
  static std::shared_ptr<CredentialSource> Fixed(sigv4::Credentials credentials);
  // Fetches the first key now (start_attempts tries): an error when the endpoint cannot
  // be reached or its answer is not a key, so a misconfigured process stops at start instead
  // of failing every request.
  static Result<std::shared_ptr<CredentialSource>> FromContainer(ContainerEndpoint endpoint);

  struct Key {
    sigv4::Credentials credentials;
    std::optional<TimePoint> expiration;  // nullopt: a fixed key, which does not end
  };
  // The key to sign with now. A source from an endpoint fetches a new one first when the one
  // it holds is within refresh_before of its end (one fetch at a time, at most one every
  // 10 s; a failure is logged). While one caller fetches, the others sign with the key held,
  // unless it has ended: they then wait for that fetch.
  Key CurrentKey();
  sigv4::Credentials Current() { return CurrentKey().credentials; }
  // True for keys that change (temporary ones from an endpoint): anything derived from the
  // secret key would change with them.
  bool rotates() const { return endpoint_.has_value(); }
  // When the key held ends (nullopt for a fixed key).
  std::optional<TimePoint> expiration();

  CredentialSource(sigv4::Credentials credentials, std::optional<ContainerEndpoint> endpoint,
                   std::optional<TimePoint> expiration);

 private:
  Status Refresh();
  bool Due(TimePoint now);  // REQUIRES: mu_ held

  const std::optional<ContainerEndpoint> endpoint_;
  std::mutex mu_;  // guards the three below
  sigv4::Credentials credentials_;
  std::optional<TimePoint> expiration_;
  std::optional<TimePoint> last_attempt_;
  std::mutex fetch_mu_;  // one fetch at a time
};

// Parses the endpoint's answer. Exposed for tests.
Result<std::pair<sigv4::Credentials, TimePoint>> ParseContainerCredentials(const std::string& body);

}  // namespace sparkify::s3client
