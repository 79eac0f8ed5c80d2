// FunctionHandler: the Lambda handler of the AI function. Payload (any of the three event
// forms, event.h) -> pipeline -> JSON answer (response.h). Never throws:
//   - a bad event, or a size the model refuses: statusCode 400 {"error": "InvalidRequest"};
//   - no input usable at all: statusCode 422 {"error": "NoUsableInput", "errors": [...]};
//   - otherwise statusCode 200, with the per-input errors in the body;
//   - a failure of the function itself (model cannot be loaded at a requested size, an
//     unexpected exception): a function error (HandlerResult::Failure), which Lambda and the
//     emulator report with X-Amz-Function-Error.
// The invocation's deadline is passed to the pipeline. One JSON log line per invocation
// (counts and timings, never the payload, URLs or keys).
//
// Thread-safety: Handle may be called concurrently if the pipeline allows it (it does).
#pragma once

#include <functional>
#include <string_view>

#include "function/pipeline.h"
#include "lambda/runtime.h"

namespace sparkify::function {

struct HandlerOptions {
  // Receives the per-invocation log line. Default: none.
  std::function<void(std::string_view line)> log;
};

class FunctionHandler {
 public:
  // REQUIRES: pipeline outlives the handler.
  explicit FunctionHandler(Pipeline* pipeline, HandlerOptions options = {});

  lambda::HandlerResult Handle(std::string_view payload,
                               const lambda::InvocationContext& context) const noexcept;

  // For lambda::RunRuntimeLoop; the handler must outlive the returned function.
  lambda::Handler AsLambdaHandler() const;

 private:
  lambda::HandlerResult HandleUnsafe(std::string_view payload,
                                     const lambda::InvocationContext& context) const;
  Pipeline* pipeline_;
  HandlerOptions options_;
};

}  // namespace sparkify::function
