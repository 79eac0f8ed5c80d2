// Internal: calls the AI function through the Lambda Invoke API, SigV4-signed (service
// "lambda") with the web principal's keys: the local invoke endpoint or AWS Lambda.
// Thread-safe (immutable after construction; the counter is atomic; the source is).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "s3client/credentials.h"
#include "sigv4/sigv4.h"
#include "web/web.h"

namespace sparkify::web::internal {

class InvokeClient {
 public:
  InvokeClient(FunctionTarget target, sigv4::Credentials credentials);
  // Signs with the source's current key (a task role's, which rotates).
  InvokeClient(FunctionTarget target, std::shared_ptr<s3client::CredentialSource> credentials);

  // Sends `payload` (JSON text) as a RequestResponse invoke and returns the function's
  // answer's "body" (the JSON object the function produced for a direct event).
  // Errors: Unavailable "the AI function is down ..." when the endpoint cannot be reached or
  // answers 5xx/429; Internal "the AI function failed: ..." for X-Amz-Function-Error or a
  // statusCode other than 200 in the answer; PermissionDenied for 401/403 (keys or policy).
  // A 422 answer listing per-input errors (none of the inputs was usable) is not an error: its
  // body ({"error","message","errors":[{"key","stage","reason"},...]}) is returned.
  // `cancel` (optional): set to true, the call ends at once (Unavailable).
  Result<std::string> Invoke(const std::string& payload, const std::atomic<bool>* cancel = nullptr);

  // The invoke URL ("https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/NAME/...").
  const std::string& url() const { return url_; }
  uint64_t invocations() const { return invocations_.load(); }

 private:
  FunctionTarget target_;
  std::shared_ptr<s3client::CredentialSource> credentials_;
  std::string url_;
  std::string scheme_, host_, path_;
  std::atomic<uint64_t> invocations_{0};
};

}  // namespace sparkify::web::internal
