#include "s3client/internal/http_transport.h"

#include <algorithm>

namespace sparkify::s3client::internal {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;

// Sends a 2xx body on to the caller's sink, and keeps the start of any other.
class SuccessOrErrorSink : public httpclient::Sink {
 public:
  SuccessOrErrorSink(BodySink* success, std::string* error_body)
      : success_(success), error_body_(error_body) {}

  Status OnHead(const httpclient::Response& head) override {
    succeeded_ = head.status >= 200 && head.status < 300;
    return succeeded_ && success_ != nullptr ? success_->OnHead(head) : Status::OK();
  }
  Status OnBody(std::string_view data) override {
    if (succeeded_) return success_ != nullptr ? success_->OnBody(data) : Status::OK();
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, error_body_->size());
    error_body_->append(data.substr(0, room));
    return Status::OK();
  }

 private:
  BodySink* success_;
  std::string* error_body_;
  bool succeeded_ = false;
};

}  // namespace

httpclient::Options HttpOptionsFor(const ClientOptions& options) {
  httpclient::Options http;
  http.connect_timeout = options.connect_timeout;
  http.timeout = options.request_timeout;
  http.verify_tls = options.verify_tls;
  http.ca_file = options.ca_file;
  http.user_agent = options.user_agent;
  http.environment_proxy = true;
  http.path_as_is = true;
  return http;
}

Status Perform(std::string_view method, const std::string& url, const sigv4::Headers& headers,
               const RequestBody& body, BodySink* sink, const httpclient::Options& options,
               HttpResponse* response) {
  httpclient::Request request;
  request.method = std::string(method);
  request.url = url;
  request.headers = headers;
  request.body = body;
  *response = HttpResponse();
  SuccessOrErrorSink routed(sink, &response->error_body);
  httpclient::Response answer;
  Status status = httpclient::Perform(request, options, &routed, &answer);
  response->status = answer.status;
  response->headers = std::move(answer.headers);
  return status;
}

}  // namespace sparkify::s3client::internal
