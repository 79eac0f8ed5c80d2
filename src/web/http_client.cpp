#include "web/internal/http_client.h"

#include "common/strings.h"
#include "httpclient/httpclient.h"

namespace sparkify::web::internal {

std::string HttpReply::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

Result<HttpReply> Perform(const HttpCall& call) {
  httpclient::Request request;
  request.method = call.method;
  request.url = call.url;
  request.headers = call.headers;
  request.body.memory = call.body;
  httpclient::Options options;
  options.connect_timeout = std::chrono::milliseconds(10'000);
  options.timeout = call.timeout;
  options.cancel = call.cancel;
  HttpReply reply;
  httpclient::StringSink sink(&reply.body, call.max_response_bytes);
  httpclient::Response response;
  SPARKIFY_RETURN_IF_ERROR(httpclient::Perform(request, options, &sink, &response));
  reply.status = response.status;
  for (auto& [name, value] : response.headers) {
    reply.headers.emplace_back(AsciiLowerString(name), std::move(value));
  }
  return reply;
}

}  // namespace sparkify::web::internal
