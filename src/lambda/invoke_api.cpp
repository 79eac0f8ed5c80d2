// The Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=].
// Order of checks, as Lambda does them: route, payload size, signature and permission (on
// the ARN asked for, so names cannot be probed), function name, parameters, payload JSON.
#include <cctype>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/log_sample.h"
#include "common/uri.h"
#include "iam/identity.h"
#include "lambda/internal/emulator_impl.h"

namespace sparkify::lambda {

using internal::Invocation;
using internal::InvokeError;
using internal::RenderInvokeError;

namespace {

constexpr std::string_view kPathPrefix = "/2015-03-31/functions/";
constexpr std::string_view kPathSuffix = "/invocations";
constexpr std::string_view kRieName = "function";
constexpr size_t kMaxClientContextBytes = 3583;

struct FunctionRef {
  std::string name;
  std::string qualifier;
  std::string region;   // from an ARN; empty otherwise
  std::string account;  // from a full or partial ARN; empty otherwise
};

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// "name[:qualifier]", "ACCOUNT:function:name[:qualifier]" or
// "arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier]"; nullopt for other shapes.
std::optional<FunctionRef> ParseFunctionRef(std::string_view text) {
  std::vector<std::string> parts = Split(text, ':');
  FunctionRef ref;
  size_t first = 0;
  if (parts.size() >= 7 && parts[0] == "arn") {
    if (!parts[1].starts_with("aws") || parts[2] != "lambda" || parts[5] != "function") {
      return std::nullopt;
    }
    ref.region = parts[3];
    ref.account = parts[4];
    first = 6;
  } else if (parts.size() >= 3 && parts[1] == "function") {
    ref.account = parts[0];
    first = 2;
  }
  size_t left = parts.size() - first;
  if (left < 1 || left > 2 || parts[first].empty()) return std::nullopt;
  ref.name = parts[first];
  if (left == 2) ref.qualifier = parts[first + 1];
  return ref;
}

std::string NewTraceId(const Clock& clock) {
  char epoch[16];
  std::snprintf(epoch, sizeof epoch, "%08llx",
                static_cast<unsigned long long>(ToUnixSeconds(clock.Now())));
  return "Root=1-" + std::string(epoch) + "-" + HexEncode(RandomBytes(12)) +
         ";Parent=" + HexEncode(RandomBytes(8)) + ";Sampled=0";
}

// How a refused request presented itself, for the log: "access key AKID..." (Authorization's or
// the query's Credential; key ids are not secret), "an Authorization header without a
// Credential", or "unsigned". Of the key id only letters and digits are kept, at most 128: the
// header is the client's.
std::string PresentedKey(const http::Request& req) {
  std::string_view from;
  if (auto auth = req.Header("authorization")) {
    from = *auth;
    const size_t at = from.find("Credential=");
    if (at == std::string_view::npos) return "an Authorization header without a Credential";
    from = from.substr(at + 11);
  } else {
    from = req.query;
    const size_t at = from.find("X-Amz-Credential=");
    from = at == std::string_view::npos ? std::string_view() : from.substr(at + 17);
  }
  std::string key;
  for (char c : from) {
    if (!std::isalnum(static_cast<unsigned char>(c)) || key.size() == 128) break;
    key.push_back(c);
  }
  return key.empty() ? "unsigned" : "access key " + key;
}

// A log line of plain printable ASCII, at most 1000 bytes: a message may quote what a client
// sent (control characters, or bytes that a terminal takes for bidi overrides, become '?').
std::string Printable(std::string line) {
  if (line.size() > 1000) line.resize(1000);
  for (char& c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return line;
}

http::Response NoContent(int status, const std::string& request_id) {
  http::Response res;
  res.status = status;
  res.Set("X-Amzn-RequestId", request_id);
  return res;
}

}  // namespace

http::Response Emulator::Impl::HandleInvoke(http::Request& req) {
  std::string request_id = internal::NewRequestId();
  {
    std::lock_guard lock(mu_);
    ++active_invokes_;
  }
  http::Response res;
  try {
    res = Invoke(req, request_id);
  } catch (const std::exception& e) {
    res = RenderInvokeError(InvokeError::kService, std::string("internal error: ") + e.what(),
                            request_id);
  } catch (...) {
    res = RenderInvokeError(InvokeError::kService, "internal error", request_id);
  }
  std::lock_guard lock(mu_);
  if (stopping_) res.close = true;
  if (--active_invokes_ == 0) idle_cv_.notify_all();
  return res;
}

namespace {

// Reads the payload (at most `limit` bytes) into *body; the error answer if it cannot.
std::optional<http::Response> ReadPayload(http::Request& req, const std::string& type, size_t limit,
                                          const std::string& request_id, std::string* body) {
  auto read = req.ReadAll(limit);
  if (read.ok()) {
    *body = std::move(*read);
    return std::nullopt;
  }
  if (read.status().code() != Status::Code::kResourceExhausted) {
    http::Response res =
        RenderInvokeError(InvokeError::kInvalidRequestContent, read.status().message(), request_id);
    res.close = true;
    return res;
  }
  http::Response res = RenderInvokeError(
      InvokeError::kRequestTooLarge,
      "Request must be smaller than " + std::to_string(limit) + " bytes for the " +
          (type == "Event" ? "InvokeAsync" : "InvokeFunction") + " operation",
      request_id);
  res.close = true;
  return res;
}

// The function a request names (in its path and Qualifier), as an ARN in this emulator.
struct InvokeTarget {
  bool known = false;  // this emulator's function (or the RIE's name for it)
  std::string qualifier;
  std::string arn;
};

// The target of `decoded` (the path's function name) and `query`; the error answer when its
// qualifiers disagree.
std::optional<http::Response> ResolveTarget(const EmulatorOptions& options,
                                            const std::string& decoded, std::string_view query,
                                            const std::string& request_id, InvokeTarget* target) {
  auto ref = ParseFunctionRef(decoded);
  std::string qualifier;
  auto params = ParseQuery(query);
  if (params) {
    for (const auto& p : *params) {
      if (p.key == "Qualifier") qualifier = p.value;
    }
  }
  if (ref && !ref->qualifier.empty() && !qualifier.empty() && ref->qualifier != qualifier) {
    return RenderInvokeError(InvokeError::kInvalidParameterValue,
                             "The derived qualifier from the function name does not match "
                             "the specified qualifier.",
                             request_id);
  }
  if (ref && qualifier.empty()) qualifier = ref->qualifier;
  target->known = ref && (ref->name == options.function_name || ref->name == kRieName) &&
                  (ref->region.empty() || ref->region == options.region) &&
                  (ref->account.empty() || ref->account == iam::kAccountId);
  std::string name = target->known ? options.function_name : (ref ? ref->name : decoded);
  target->arn = "arn:aws:lambda:" + options.region + ":" + std::string(iam::kAccountId) +
                ":function:" + name + (qualifier.empty() ? "" : ":" + qualifier);
  target->qualifier = std::move(qualifier);
  return std::nullopt;
}

// The X-Amz-Client-Context header, decoded, into *out; the error answer if it is malformed.
std::optional<http::Response> ReadClientContext(const http::Request& req,
                                                const std::string& request_id, std::string* out) {
  auto cc = req.Header("x-amz-client-context");
  if (!cc || cc->empty()) return std::nullopt;
  auto decoded = Base64Decode(*cc);
  if (!decoded || decoded->size() > kMaxClientContextBytes || !nlohmann::json::accept(*decoded)) {
    return RenderInvokeError(InvokeError::kInvalidParameterValue,
                             "Client context must be a valid Base64-encoded JSON object.",
                             request_id);
  }
  *out = std::move(*decoded);
  return std::nullopt;
}

}  // namespace

http::Response Emulator::Impl::Invoke(http::Request& req, const std::string& request_id) {
  std::string_view path = req.path;
  if (req.method != "POST" || !path.starts_with(kPathPrefix) || !path.ends_with(kPathSuffix) ||
      path.size() <= kPathPrefix.size() + kPathSuffix.size()) {
    return RenderInvokeError(InvokeError::kUnknownOperation, "Unknown operation", request_id);
  }
  auto decoded = UriDecode(
      path.substr(kPathPrefix.size(), path.size() - kPathPrefix.size() - kPathSuffix.size()));
  if (!decoded || decoded->find('/') != std::string::npos) {
    return RenderInvokeError(InvokeError::kUnknownOperation, "Unknown operation", request_id);
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return RenderInvokeError(InvokeError::kService, "The emulator is stopping.", request_id);
    }
  }

  std::string type(req.Header("x-amz-invocation-type").value_or("RequestResponse"));
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    return RenderInvokeError(InvokeError::kInvalidParameterValue,
                             "1 validation error detected: Value '" + type +
                                 "' at 'invocationType' failed to satisfy constraint: Member "
                                 "must satisfy enum value set: [Event, RequestResponse, DryRun]",
                             request_id);
  }
  std::string body;
  size_t limit = type == "Event" ? options_.max_async_request_bytes : options_.max_request_bytes;
  if (auto refused = ReadPayload(req, type, limit, request_id, &body)) return std::move(*refused);

  // The function asked for, and its ARN (for the policy and the messages).
  InvokeTarget target;
  if (auto refused = ResolveTarget(options_, *decoded, req.query, request_id, &target)) {
    return std::move(*refused);
  }
  if (auto denial = internal::AuthorizeInvoke(req, body, options_, target.arn)) {
    // The caller learns why; the operator too, who may be the one holding the wrong key.
    // Anyone may send refused requests: sampled.
    if (const uint64_t n = SampledOccurrence(refusals_logged_)) {
      const std::string line = Printable(
          "EMULATOR invoke refused: " + std::string(internal::InfoFor(denial->error).name) +
          " (RequestId " + request_id + ", " + target.arn + ", from " + req.remote_ip + ", " +
          PresentedKey(req) + ", " + std::to_string(n) + " refused so far): " + denial->message);
      std::lock_guard lock(mu_);
      LogLine(line);
    }
    return RenderInvokeError(denial->error, denial->message, request_id);
  }
  if (!target.known || (!target.qualifier.empty() && target.qualifier != "$LATEST")) {
    return RenderInvokeError(InvokeError::kResourceNotFound, "Function not found: " + target.arn,
                             request_id);
  }
  std::string log_type(req.Header("x-amz-log-type").value_or("None"));
  if (log_type != "None" && log_type != "Tail") {
    return RenderInvokeError(InvokeError::kInvalidParameterValue,
                             "1 validation error detected: Value '" + log_type +
                                 "' at 'logType' failed to satisfy constraint: Member must "
                                 "satisfy enum value set: [Tail, None]",
                             request_id);
  }
  std::string client_context;
  if (auto refused = ReadClientContext(req, request_id, &client_context)) {
    return std::move(*refused);
  }
  if (options_.require_json_payload && !body.empty() && !nlohmann::json::accept(body)) {
    return RenderInvokeError(InvokeError::kInvalidRequestContent,
                             "Could not parse request body into json: the payload is not "
                             "valid JSON text",
                             request_id);
  }
  if (type == "DryRun") return NoContent(204, request_id);

  auto inv = std::make_shared<Invocation>();
  inv->request_id = request_id;
  inv->payload = std::move(body);
  inv->function_arn = target.arn;
  inv->client_context = std::move(client_context);
  std::string trace(req.Header("x-amzn-trace-id").value_or(""));
  inv->trace_id = trace.empty() ? NewTraceId(*options_.clock) : trace;
  inv->async = type == "Event";
  inv->enqueued = std::chrono::steady_clock::now();

  return Enqueue(std::move(inv), log_type == "Tail");
}

http::Response Emulator::Impl::Enqueue(std::shared_ptr<Invocation> inv, bool tail) {
  const std::string& request_id = inv->request_id;
  std::unique_lock lock(mu_);
  if (stopping_) {
    return RenderInvokeError(InvokeError::kService, "The emulator is stopping.", request_id);
  }
  if (queue_.size() >= options_.max_queued) {
    return RenderInvokeError(InvokeError::kTooManyRequests, "Rate Exceeded.", request_id);
  }
  queue_.push_back(inv);
  next_cv_.notify_all();
  supervise_cv_.notify_all();
  if (inv->async) return NoContent(202, request_id);

  done_cv_.wait_until(lock, inv->enqueued + options_.max_queue_wait,
                      [&] { return inv->phase != Invocation::Phase::kQueued; });
  if (inv->phase == Invocation::Phase::kQueued) {
    std::erase(queue_, inv);
    return RenderInvokeError(InvokeError::kTooManyRequests,
                             "Rate Exceeded. No worker took the invocation within " +
                                 std::to_string(options_.max_queue_wait.count()) + " ms.",
                             request_id);
  }
  // The supervisor ends every running invocation by its deadline (killing the worker if
  // need be); the extra minute only guards against a bug there.
  auto guard = std::max(inv->deadline, std::chrono::steady_clock::now()) + options_.init_timeout +
               std::chrono::seconds(60);
  done_cv_.wait_until(lock, guard, [&] { return inv->phase == Invocation::Phase::kDone; });
  if (inv->phase != Invocation::Phase::kDone || inv->aborted) {
    return RenderInvokeError(InvokeError::kService,
                             inv->aborted ? "The emulator stopped before the function answered."
                                          : "The function did not finish.",
                             request_id);
  }
  http::Response res;
  res.status = 200;
  res.Set("Content-Type", "application/json");
  res.Set("X-Amzn-RequestId", request_id);
  res.Set("X-Amz-Executed-Version", "$LATEST");
  res.Set("X-Amzn-Trace-Id", inv->trace_id);
  if (inv->is_error) res.Set("X-Amz-Function-Error", "Unhandled");
  if (tail) res.Set("X-Amz-Log-Result", Base64Encode(inv->log));
  res.body = std::move(inv->result);
  return res;
}

}  // namespace sparkify::lambda
