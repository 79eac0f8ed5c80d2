// The Runtime API the emulator serves to one worker process:
//   GET  /2018-06-01/runtime/invocation/next
//   POST /2018-06-01/runtime/invocation/{id}/response
//   POST /2018-06-01/runtime/invocation/{id}/error
//   POST /2018-06-01/runtime/init/error
// Answers mirror the Runtime Interface Emulator's: 202 {"status":"OK"}, and errors as
// {"errorMessage","errorType"} (InvalidRequestID 400, InvalidStateTransition 403,
// RequestEntityTooLarge 413).
#include <nlohmann/json.hpp>

#include "lambda/internal/emulator_impl.h"

namespace sparkify::lambda {

using internal::Invocation;
using internal::Worker;

namespace {

using json = nlohmann::json;

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
constexpr size_t kMaxErrorBytes = 1 << 20;

http::Response Answer(int status, std::string_view error_type = {}, std::string_view message = {}) {
  http::Response res;
  res.status = status;
  res.Set("Content-Type", "application/json");
  if (error_type.empty()) {
    res.body = R"({"status":"OK"})";
  } else {
    json body = {{"errorMessage", std::string(message)}, {"errorType", std::string(error_type)}};
    res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return res;
}

// For requests of a process that is already gone (or of an emulator that is stopping).
http::Response Stale() {
  http::Response res = Answer(410, "Runtime.Stale", "this runtime process has been replaced");
  res.close = true;
  return res;
}

// The error a runtime posted: its document (passed on as is when it is a JSON object) and
// its type (the document's errorType, else the header).
struct PostedError {
  std::string document;
  std::string error_type;
};

PostedError ReadPostedError(const http::Request& req, const std::string& body) {
  std::string header(req.Header("lambda-runtime-function-error-type").value_or(""));
  PostedError out;
  if (auto parsed = ParseFunctionError(body)) {
    out.document = body;
    out.error_type = !parsed->error_type.empty() ? parsed->error_type : header;
  } else {
    out.error_type = header;
    out.document = FunctionErrorJson(header.empty() ? "Runtime.Unknown" : header, body);
  }
  if (out.error_type.empty()) out.error_type = "Runtime.Unknown";
  return out;
}

}  // namespace

http::Response Emulator::Impl::HandleRuntime(Worker& w, uint64_t generation, http::Request& req) {
  std::string_view path = req.path;
  if (!path.starts_with(kPrefix)) return Answer(404, "InvalidRequest", "unknown path");
  path.remove_prefix(kPrefix.size());
  if (req.method == "GET" && path == "invocation/next") return RuntimeNext(w, generation);
  if (req.method == "POST" && path == "init/error") return RuntimeInitError(w, generation, req);
  if (req.method == "POST" && path.starts_with("invocation/")) {
    path.remove_prefix(std::string_view("invocation/").size());
    size_t slash = path.find('/');
    if (slash == std::string_view::npos) return Answer(404, "InvalidRequest", "unknown path");
    std::string_view what = path.substr(slash + 1);
    if (what != "response" && what != "error") {
      return Answer(404, "InvalidRequest", "unknown path");
    }
    return RuntimeAnswer(w, generation, req, std::string(path.substr(0, slash)),
                         what == "response");
  }
  return Answer(404, "InvalidRequest", "unknown path");
}

http::Response Emulator::Impl::RuntimeNext(Worker& w, uint64_t generation) {
  std::unique_lock lock(mu_);
  if (stopping_ || w.generation != generation) return Stale();
  if (w.current) {
    Finish f;
    f.is_error = true;
    f.error_type = "Runtime.InvalidResponse";
    f.result = FunctionErrorJson(
        f.error_type, "the runtime asked for the next invocation without answering this one");
    Complete(w, std::move(f));
  }
  if (!w.initialised) {
    w.initialised = true;
    w.init_duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w.spawned)
            .count();
  }
  w.state = Worker::State::kIdle;
  Wake(w);  // no init deadline any more
  next_cv_.wait(lock, [&] { return stopping_ || w.generation != generation || !queue_.empty(); });
  if (stopping_ || w.generation != generation) return Stale();
  std::shared_ptr<Invocation> inv = TakeNext(w);
  Wake(w);  // a deadline to watch
  http::Response res;
  res.Set("Content-Type", "application/json");
  res.Set("Lambda-Runtime-Aws-Request-Id", inv->request_id);
  auto deadline_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(inv->wall_deadline.time_since_epoch())
          .count();
  res.Set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline_ms));
  res.Set("Lambda-Runtime-Invoked-Function-Arn", inv->function_arn);
  res.Set("Lambda-Runtime-Trace-Id", inv->trace_id);
  if (!inv->client_context.empty()) {
    res.Set("Lambda-Runtime-Client-Context", inv->client_context);
  }
  res.body = std::move(inv->payload);  // the worker has it now
  inv->payload.clear();
  return res;
}

http::Response Emulator::Impl::RuntimeInitError(Worker& w, uint64_t generation,
                                                http::Request& req) {
  auto body = req.ReadAll(kMaxErrorBytes);
  std::lock_guard lock(mu_);
  if (stopping_ || w.generation != generation) return Stale();
  if (w.initialised) {
    return Answer(403, "InvalidStateTransition", "init/error after the first /next");
  }
  PostedError posted = ReadPostedError(req, body.ok() ? *body : "");
  auto parsed = ParseFunctionError(posted.document);
  w.init_error = FunctionError{posted.error_type, parsed ? parsed->message : ""};
  w.init_error_at = std::chrono::steady_clock::now();
  Wake(w);
  return Answer(202);
}

http::Response Emulator::Impl::RuntimeAnswer(Worker& w, uint64_t generation, http::Request& req,
                                             const std::string& id, bool is_response) {
  size_t limit = is_response ? options_.max_response_bytes : kMaxErrorBytes;
  auto body = req.ReadAll(limit);
  bool too_large = !body.ok() && body.status().code() == Status::Code::kResourceExhausted;
  if (!body.ok() && !too_large) {
    http::Response res = Answer(400, "InvalidRequest", body.status().message());
    res.close = true;
    return res;
  }
  std::lock_guard lock(mu_);
  if (stopping_ || w.generation != generation) return Stale();
  if (!w.current || w.current->request_id != id) {
    return Answer(400, "InvalidRequestID", "Invalid request ID");
  }
  Finish f;
  http::Response res = Answer(202);
  if (too_large && is_response) {
    std::string limit_text = std::to_string(options_.max_response_bytes);
    f.is_error = true;
    f.error_type = "Function.ResponseSizeTooLarge";
    f.result = FunctionErrorJson(
        f.error_type,
        "Response payload size exceeded maximum allowed payload size (" + limit_text + " bytes).");
    res = Answer(413, "RequestEntityTooLarge",
                 "Exceeded maximum allowed payload size (" + limit_text + " bytes).");
    res.close = true;  // the rest of the body is not read
  } else if (is_response) {
    f.result = std::move(*body);
  } else {
    PostedError posted = ReadPostedError(req, body.ok() ? *body : "error document too large");
    f.is_error = true;
    f.result = std::move(posted.document);
    f.error_type = std::move(posted.error_type);
  }
  Complete(w, std::move(f));
  w.state = Worker::State::kIdle;
  return res;
}

}  // namespace sparkify::lambda
