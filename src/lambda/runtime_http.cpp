#include "lambda/internal/runtime_http.h"

#include "common/strings.h"

namespace sparkify::lambda::internal {

std::optional<std::string_view> HttpReply::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

RuntimeHttp::RuntimeHttp(std::string endpoint, std::chrono::milliseconds connect_timeout) {
  constexpr std::string_view kUnix = "unix:";
  if (std::string_view(endpoint).starts_with(kUnix)) {
    options_.unix_socket = endpoint.substr(kUnix.size());
    base_ = "http://localhost/2018-06-01";
  } else {
    base_ = "http://" + endpoint + "/2018-06-01";
  }
  options_.connect_timeout = connect_timeout;
}

RuntimeHttp::~RuntimeHttp() = default;

Result<HttpReply> RuntimeHttp::Perform(httpclient::Request request,
                                       std::chrono::milliseconds timeout, size_t max_body) {
  options_.timeout = timeout;
  HttpReply reply;
  httpclient::StringSink sink(&reply.body, max_body, "the answer of " + request.url);
  httpclient::Response response;
  SPARKIFY_RETURN_IF_ERROR(session_.Perform(request, options_, &sink, &response));
  reply.status = response.status;
  for (auto& [name, value] : response.headers) {
    reply.headers.emplace_back(AsciiLowerString(name), std::move(value));
  }
  return reply;
}

Result<HttpReply> RuntimeHttp::Get(const std::string& path, std::chrono::milliseconds timeout,
                                   size_t max_body) {
  httpclient::Request request;
  request.url = base_ + path;
  return Perform(std::move(request), timeout, max_body);
}

Result<HttpReply> RuntimeHttp::Post(const std::string& path, std::string_view body,
                                    const httpclient::Headers& headers,
                                    std::chrono::milliseconds timeout) {
  httpclient::Request request;
  request.method = "POST";
  request.url = base_ + path;
  request.headers = headers;
  request.body.memory = body;
  return Perform(std::move(request), timeout, 1 << 20);
}

}  // namespace sparkify::lambda::internal
