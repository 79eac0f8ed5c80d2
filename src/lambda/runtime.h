// The AWS Lambda Runtime API client: the loop a function's process runs inside Lambda (or
// under the emulator in emulator.h).
//
//   GET  /2018-06-01/runtime/invocation/next          (no timeout: the sandbox is frozen
//                                                      between invocations)
//   POST /2018-06-01/runtime/invocation/{id}/response  (202)
//   POST /2018-06-01/runtime/invocation/{id}/error     (202, with the error-type header)
//   POST /2018-06-01/runtime/init/error                (start-up failures)
//
// The library knows nothing about the function: a Handler maps a payload (the event's
// bytes, JSON text) and an InvocationContext to a HandlerResult, success or failure as data.
// Every exception a handler throws is caught and reported as a function error carrying the
// exception's type; it never ends the loop. The library reads no environment variable: the
// caller passes the endpoint (AWS_LAMBDA_RUNTIME_API) and exports the trace id through
// RuntimeOptions::on_trace_id.
//
// Thread-safety: RunRuntimeLoop blocks the calling thread and calls the handler on it, one
// invocation at a time. Separate loops on separate threads share nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "common/status.h"

namespace sparkify::lambda {

// Largest response the Runtime API accepts (6 MB plus framing), in bytes (docs/lambda.md).
inline constexpr size_t kMaxResponseBytes = 6291556;

// What the handler knows of the invocation it serves.
struct InvocationContext {
  std::string request_id;        // Lambda-Runtime-Aws-Request-Id
  TimePoint deadline{};          // Lambda-Runtime-Deadline-Ms
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;          // Lambda-Runtime-Trace-Id (may be empty)
  std::string client_context;    // Lambda-Runtime-Client-Context, JSON text (may be empty)
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity, JSON text (may be empty)
  const Clock* clock = &Clock::System();

  // Time left until the deadline; zero or negative once it has passed.
  std::chrono::milliseconds RemainingTime() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock->Now());
  }
};

// A handler's answer: the response payload, or a failure reported as data.
class HandlerResult {
 public:
  static HandlerResult Success(std::string payload) {
    HandlerResult r;
    r.ok_ = true;
    r.payload_ = std::move(payload);
    return r;
  }
  // `error_type` is what the caller sees as errorType ("InvalidInput"); the error-type header
  // is derived from it (see ErrorTypeHeader in function_error.h).
  static HandlerResult Failure(std::string error_type, std::string message) {
    HandlerResult r;
    r.error_type_ = std::move(error_type);
    r.payload_ = std::move(message);
    return r;
  }

  bool ok() const { return ok_; }
  const std::string& payload() const { return payload_; }        // REQUIRES: ok()
  const std::string& error_type() const { return error_type_; }  // REQUIRES: !ok()
  const std::string& error_message() const { return payload_; }  // REQUIRES: !ok()
  // Moves the payload (or message) out, leaving it empty.
  std::string TakePayload() { return std::move(payload_); }

 private:
  HandlerResult() = default;
  bool ok_ = false;
  std::string error_type_;
  std::string payload_;
};

// May throw anything: the loop catches it and reports it as a function error.
using Handler = std::function<HandlerResult(std::string_view payload, const InvocationContext&)>;

struct RuntimeOptions {
  // Called with each invocation's trace id (empty when none) before the handler runs. main
  // uses it to set _X_AMZN_TRACE_ID, which the library does not touch. Default: none.
  std::function<void(const std::string& trace_id)> on_trace_id;
  // Receives the loop's log lines: one JSON object per invocation ({"level","msg",
  // "request_id","duration_ms","outcome","error_type"}; never the payload), written when the
  // handler returns and before the answer is posted (so it lands in that invocation's log;
  // duration_ms is the handler's time), and Runtime API failures. Default: written to
  // stderr, one line each.
  std::function<void(std::string_view line)> log;
  // The clock behind InvocationContext::RemainingTime. Default: the system clock.
  const Clock* clock = &Clock::System();
  // Connecting to the Runtime API, for every call. Default: 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // The whole exchange of a /response, /error or /init/error post (/next has none).
  // Default: 60 s.
  std::chrono::milliseconds post_timeout{60000};
  // Responses larger than this are not posted: the invocation fails with
  // Function.ResponseSizeTooLarge instead. Default: kMaxResponseBytes.
  size_t max_response_bytes = kMaxResponseBytes;
  // Largest event accepted from /next; larger events fail the loop. Default: 16 MiB.
  size_t max_event_bytes = 16u << 20;
  // Return OK after this many invocations; 0 means never (the normal case). For tests.
  uint64_t max_invocations = 0;
};

// Serves invocations from the Runtime API at `endpoint` ("127.0.0.1:9001", the value of
// AWS_LAMBDA_RUNTIME_API; "unix:/path" is a Unix socket, as the local emulator hands out)
// until /next fails, then returns Unavailable (connection refused or lost) or Internal (an answer
// the Runtime API should never give); the caller should exit non-zero. A failed /response or /error
// post is logged and the loop goes on. Returns OK when options.max_invocations is reached, or when
// /next answers 410 (our local emulator's Runtime.Stale: it is stopping, or has replaced this
// process; logged at info). Never throws.
Status RunRuntimeLoop(const std::string& endpoint, const Handler& handler,
                      const RuntimeOptions& options = {});

// Posts /runtime/init/error for a start-up failure (bad model, bad config), with errorType
// `error_type` (the header is derived with ErrorTypeHeader, e.g. "Runtime.InitError" stays
// as is). The caller then exits non-zero without entering the loop. Errors: Unavailable
// when the Runtime API cannot be reached, Internal when it does not answer 202.
Status ReportInitError(const std::string& endpoint, std::string_view error_type,
                       std::string_view message, const RuntimeOptions& options = {});

}  // namespace sparkify::lambda
