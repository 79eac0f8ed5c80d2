// PresignS3Url: the pure function behind `sparkify presign`.
#include <exception>

#include "s3client/internal/addressing.h"
#include "s3client/s3client.h"

namespace sparkify::s3client {

Result<std::string> PresignS3Url(const PresignRequest& request) {
  try {
    SPARKIFY_ASSIGN_OR_RETURN(auto names, internal::ParseS3Url(request.s3_url));
    if (request.method != "GET" && request.method != "PUT" && request.method != "HEAD" &&
        request.method != "DELETE") {
      return Status::InvalidArgument("the method must be GET, PUT, HEAD or DELETE");
    }
    if (request.expires_seconds < 1 || request.expires_seconds > sigv4::kMaxPresignExpires) {
      return Status::InvalidArgument("expires must be 1..604800 seconds");
    }
    if (request.region.empty()) return Status::InvalidArgument("the region is empty");
    if (request.credentials.access_key_id.empty() ||
        request.credentials.secret_access_key.empty()) {
      return Status::InvalidArgument("an access key id and a secret access key are needed");
    }
    SPARKIFY_ASSIGN_OR_RETURN(internal::Endpoint endpoint,
                              internal::ParseEndpoint(request.endpoint));
    internal::Target target =
        internal::TargetFor(endpoint, Addressing::kAuto, names.first, names.second);
    sigv4::SignRequest sr;
    sr.method = request.method;
    sr.scheme = endpoint.scheme;
    sr.host = target.host;
    sr.decoded_path = target.decoded_path;
    sr.region = request.region;
    sr.time = request.time;
    std::string url = sigv4::PresignUrl(sr, request.credentials, request.expires_seconds);
    if (url.empty()) return Status::Internal("signing failed");
    return url;
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace sparkify::s3client
