#include "web/internal/invoke_client.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/uri.h"
#include "web/internal/http_client.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

std::string Shorten(std::string_view text) {
  if (text.size() <= 300) return std::string(text);
  return std::string(text.substr(0, 300)) + "...";
}

// The function's error document {"errorMessage","errorType"} or a plain text.
std::string ErrorText(const std::string& body) {
  json doc = ParseUntrustedJson(body);
  if (doc.is_object()) {
    std::string type = JsonString(doc, "errorType");
    std::string msg = JsonString(doc, "errorMessage", JsonString(doc, "message"));
    if (!type.empty() || !msg.empty()) return type.empty() ? msg : type + ": " + msg;
  }
  return Shorten(body);
}

}  // namespace

InvokeClient::InvokeClient(FunctionTarget target, sigv4::Credentials credentials)
    : InvokeClient(std::move(target), s3client::CredentialSource::Fixed(std::move(credentials))) {}

InvokeClient::InvokeClient(FunctionTarget target,
                           std::shared_ptr<s3client::CredentialSource> credentials)
    : target_(std::move(target)), credentials_(std::move(credentials)) {
  std::string base = target_.url;
  if (base.empty()) base = "https://lambda." + target_.region + ".amazonaws.com";
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t scheme_end = base.find("://");
  scheme_ = scheme_end == std::string::npos ? "http" : base.substr(0, scheme_end);
  host_ = scheme_end == std::string::npos ? base : base.substr(scheme_end + 3);
  if ((scheme_ == "http" && host_.ends_with(":80")) ||
      (scheme_ == "https" && host_.ends_with(":443"))) {
    host_ = host_.substr(0, host_.rfind(':'));
  }
  path_ = "/2015-03-31/functions/" + target_.name + "/invocations";
  url_ = scheme_ + "://" + host_ + UriEncode(path_, true);
}

Result<std::string> InvokeClient::Invoke(const std::string& payload,
                                         const std::atomic<bool>* cancel) {
  HttpCall call;
  call.method = "POST";
  call.url = url_;
  call.body = payload;
  call.timeout = target_.timeout;
  call.cancel = cancel;
  call.headers = {{"content-type", "application/json"},
                  {"x-amz-invocation-type", "RequestResponse"}};
  if (const sigv4::Credentials key = credentials_->Current(); !key.access_key_id.empty()) {
    sigv4::SignRequest sr;
    sr.method = "POST";
    sr.scheme = scheme_;
    sr.host = host_;
    sr.decoded_path = path_;
    sr.headers = call.headers;
    sr.payload_hash = Sha256Hex(payload);
    sr.region = target_.region;
    sr.service = "lambda";
    sr.time = Clock::System().Now();
    for (auto& h : sigv4::SignHeaders(sr, key)) {
      if (h.first == "host" || h.first == "Host") continue;  // curl sends the same Host
      call.headers.push_back(std::move(h));
    }
  }
  invocations_.fetch_add(1);
  auto reply = Perform(call);
  if (!reply.ok()) {
    if (cancel != nullptr && cancel->load()) return Status::Unavailable("the server is stopping");
    return Status::Unavailable("the AI function is down (" + url_ + ": " +
                               reply.status().message() + ")");
  }
  const HttpReply& r = *reply;
  if (r.status == 401 || r.status == 403) {
    return Status::PermissionDenied("the AI function refused the web app's key (HTTP " +
                                    std::to_string(r.status) + "): " + ErrorText(r.body));
  }
  if (r.status == 429 || r.status >= 500) {
    return Status::Unavailable("the AI function is down or overloaded (HTTP " +
                               std::to_string(r.status) + "): " + ErrorText(r.body));
  }
  if (r.status != 200) {
    return Status::Internal("the AI function refused the request (HTTP " +
                            std::to_string(r.status) + "): " + ErrorText(r.body));
  }
  if (std::string kind = r.Header("x-amz-function-error"); !kind.empty()) {
    return Status::Internal("the AI function failed (" + kind + "): " + ErrorText(r.body));
  }
  json answer = ParseUntrustedJson(r.body);
  if (!answer.is_object() || !answer.contains("body")) {
    return Status::Internal("the AI function answered something unexpected: " + Shorten(r.body));
  }
  const json& status_code = JsonMember(answer, "statusCode");
  if (!status_code.is_null() && !status_code.is_number_integer()) {
    return Status::Internal("the AI function answered a statusCode that is not a number (" +
                            JsonTypeName(status_code) + ")");
  }
  int64_t code = status_code.is_null() ? 200 : status_code.get<int64_t>();
  const json& body = answer["body"];
  if (code == 422) {
    // Nothing of the request was usable: the answer lists why per input (body.errors), which
    // the caller reports per cover.
    json refusal = body.is_string() ? ParseUntrustedJson(body.get<std::string>()) : body;
    const json& errors = JsonMember(refusal, "errors");
    if (errors.is_array() && !errors.empty()) return refusal.dump();
  }
  if (code != 200) {
    std::string msg = JsonString(body, "message", Shorten(body.dump()));
    return Status::Internal("the AI function refused the request (" + std::to_string(code) +
                            "): " + msg);
  }
  return body.is_string() ? body.get<std::string>() : body.dump();
}

}  // namespace sparkify::web::internal
