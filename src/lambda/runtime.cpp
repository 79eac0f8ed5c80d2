#include "lambda/runtime.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <typeinfo>

#include "common/uri.h"
#include "lambda/function_error.h"
#include "lambda/internal/log_sink.h"
#include "lambda/internal/runtime_http.h"

namespace sparkify::lambda {
namespace {

using json = nlohmann::json;
using internal::HttpReply;
using internal::RuntimeHttp;


std::string Demangle(const char* mangled) {
  if (mangled == nullptr) return "unknown";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

// The type of the exception being handled, from inside a catch block.
std::string CurrentExceptionTypeName() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  return type != nullptr ? Demangle(type->name()) : "unknown";
}

struct Outcome {
  enum class Kind { kSuccess, kError, kException, kTooLarge } kind = Kind::kSuccess;
  std::string payload;  // kSuccess
  std::string error_type;
  std::string message;
};

const char* KindName(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::kSuccess:
      return "success";
    case Outcome::Kind::kError:
      return "error";
    case Outcome::Kind::kException:
      return "exception";
    case Outcome::Kind::kTooLarge:
      return "response_too_large";
  }
  return "unknown";
}

// Runs the handler; nothing it throws gets past this function.
Outcome CallHandler(const Handler& handler, std::string_view payload,
                    const InvocationContext& context, size_t max_response_bytes) {
  Outcome out;
  try {
    HandlerResult result = handler(payload, context);
    if (!result.ok()) {
      out.kind = Outcome::Kind::kError;
      out.error_type = result.error_type();
      out.message = result.error_message();
    } else if (result.payload().size() > max_response_bytes) {
      out.kind = Outcome::Kind::kTooLarge;
      out.error_type = "Function.ResponseSizeTooLarge";
      out.message = "Response payload size (" + std::to_string(result.payload().size()) +
                    " bytes) exceeded maximum allowed payload size (" +
                    std::to_string(max_response_bytes) + " bytes).";
    } else {
      out.payload = result.TakePayload();
    }
  } catch (const std::exception& e) {
    out.kind = Outcome::Kind::kException;
    out.error_type = Demangle(typeid(e).name());
    out.message = e.what();
  } catch (...) {
    out.kind = Outcome::Kind::kException;
    out.error_type = CurrentExceptionTypeName();
    out.message = "the handler threw an exception of type " + out.error_type;
  }
  return out;
}

std::string InvocationPath(const std::string& request_id, std::string_view what) {
  return "/runtime/invocation/" + UriEncode(request_id) + "/" + std::string(what);
}

std::string ReplySummary(const Result<HttpReply>& reply) {
  if (!reply.ok()) return reply.status().ToString();
  std::string body = reply->body.substr(0, 200);
  return "HTTP " + std::to_string(reply->status) + " " + body;
}

class Loop {
 public:
  Loop(const std::string& endpoint, const Handler& handler, const RuntimeOptions& options)
      : handler_(handler), options_(options), http_(endpoint, options.connect_timeout) {
    log_ = options.log ? options.log : internal::WriteStderrLine;
  }

  Status Run() {
    for (uint64_t served = 0; options_.max_invocations == 0 || served < options_.max_invocations;
         ++served) {
      SPARKIFY_RETURN_IF_ERROR(ServeOne());
      if (stale_) return Status::OK();
    }
    return Status::OK();
  }

 private:
  Status ServeOne() {
    auto next = http_.Get("/runtime/invocation/next", std::chrono::milliseconds(0),
                          options_.max_event_bytes);
    if (!next.ok()) {
      LogProblem("runtime API /next failed: " + next.status().ToString());
      return next.status();
    }
    if (next->status == 410) {
      // Our own emulator's answer when it stops or has replaced this process (Runtime.Stale;
      // Lambda's never sends it): the end of this runtime's work, not a failure.
      json line = {{"level", "info"},
                   {"msg",
                    "runtime API: this runtime is done (HTTP 410, "
                    "the emulator is stopping or replaced it)"}};
      Log(line.dump(-1, ' ', false, json::error_handler_t::replace));
      stale_ = true;
      return Status::OK();
    }
    if (next->status != 200) {
      LogProblem("runtime API /next answered " + ReplySummary(next));
      return Status::Internal("runtime API /next answered HTTP " + std::to_string(next->status));
    }
    InvocationContext ctx;
    ctx.clock = options_.clock;
    if (auto id = next->Header("lambda-runtime-aws-request-id"); id && !id->empty()) {
      ctx.request_id = std::string(*id);
    } else {
      LogProblem("runtime API /next answered without Lambda-Runtime-Aws-Request-Id");
      return Status::Internal("invocation without a request id");
    }
    ctx.deadline = TimePoint::max();
    if (auto ms = next->Header("lambda-runtime-deadline-ms")) {
      char* end = nullptr;
      std::string text(*ms);
      long long value = std::strtoll(text.c_str(), &end, 10);
      if (end != text.c_str() && *end == '\0' && value > 0) {
        ctx.deadline = TimePoint(std::chrono::milliseconds(value));
      }
    }
    ctx.function_arn =
        std::string(next->Header("lambda-runtime-invoked-function-arn").value_or(""));
    ctx.trace_id = std::string(next->Header("lambda-runtime-trace-id").value_or(""));
    ctx.client_context = std::string(next->Header("lambda-runtime-client-context").value_or(""));
    ctx.cognito_identity =
        std::string(next->Header("lambda-runtime-cognito-identity").value_or(""));
    if (options_.on_trace_id) {
      try {
        options_.on_trace_id(ctx.trace_id);
      } catch (...) {
        LogProblem("the trace id hook threw " + CurrentExceptionTypeName());
      }
    }

    auto start = std::chrono::steady_clock::now();
    Outcome outcome = CallHandler(handler_, next->body, ctx, options_.max_response_bytes);
    next->body.clear();
    // Logged before the answer goes out, so it belongs to this invocation's log.
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    json line = {{"level", outcome.kind == Outcome::Kind::kSuccess ? "info" : "error"},
                 {"msg", "invocation"},
                 {"request_id", ctx.request_id},
                 {"duration_ms", static_cast<double>(static_cast<int64_t>(ms * 100)) / 100},
                 {"outcome", KindName(outcome.kind)}};
    if (outcome.kind != Outcome::Kind::kSuccess) line["error_type"] = outcome.error_type;
    Log(line.dump(-1, ' ', false, json::error_handler_t::replace));
    Post(ctx.request_id, outcome);
    return Status::OK();
  }

  void Post(const std::string& request_id, const Outcome& outcome) {
    Result<HttpReply> reply = Status::Internal("not sent");
    if (outcome.kind == Outcome::Kind::kSuccess) {
      reply = http_.Post(InvocationPath(request_id, "response"), outcome.payload,
                         {{"Content-Type", "application/json"}}, options_.post_timeout);
    } else {
      reply =
          http_.Post(InvocationPath(request_id, "error"),
                     FunctionErrorJson(outcome.error_type, outcome.message),
                     {{"Content-Type", "application/json"},
                      {"Lambda-Runtime-Function-Error-Type", ErrorTypeHeader(outcome.error_type)}},
                     options_.post_timeout);
    }
    if (!reply.ok() || reply->status != 202) {
      LogProblem("runtime API did not accept the " +
                 std::string(outcome.kind == Outcome::Kind::kSuccess ? "response" : "error") +
                 " of " + request_id + ": " + ReplySummary(reply));
    }
  }

  void LogProblem(const std::string& message) {
    json line = {{"level", "error"}, {"msg", message}};
    Log(line.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  // A log sink that throws loses its line, never the invocation.
  void Log(const std::string& line) {
    try {
      log_(line);
    } catch (...) {
    }
  }

  const Handler& handler_;
  const RuntimeOptions& options_;
  RuntimeHttp http_;
  std::function<void(std::string_view)> log_;
  bool stale_ = false;  // /next answered 410: stop serving, cleanly
};

}  // namespace

Status RunRuntimeLoop(const std::string& endpoint, const Handler& handler,
                      const RuntimeOptions& options) {
  try {
    Loop loop(endpoint, handler, options);
    return loop.Run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("runtime loop failed: ") + e.what());
  } catch (...) {
    return Status::Internal("runtime loop failed: " + CurrentExceptionTypeName());
  }
}

Status ReportInitError(const std::string& endpoint, std::string_view error_type,
                       std::string_view message, const RuntimeOptions& options) {
  try {
    RuntimeHttp http(endpoint, options.connect_timeout);
    auto reply = http.Post("/runtime/init/error", FunctionErrorJson(error_type, message),
                           {{"Content-Type", "application/json"},
                            {"Lambda-Runtime-Function-Error-Type", ErrorTypeHeader(error_type)}},
                           options.post_timeout);
    if (!reply.ok()) return reply.status();
    if (reply->status != 202) {
      return Status::Internal("runtime API answered /init/error with " + ReplySummary(reply));
    }
    return Status::OK();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("init error report failed: ") + e.what());
  }
}

namespace internal {

void WriteStderrLine(std::string_view line) {
  std::string out(line);
  out += '\n';
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(STDERR_FILENO, out.data() + off, out.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace internal
}  // namespace sparkify::lambda
