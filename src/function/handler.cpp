#include "function/handler.h"

#include <algorithm>
#include <exception>
#include <new>
#include <nlohmann/json.hpp>

#include "function/event.h"
#include "function/response.h"

namespace sparkify::function {
namespace {

using json = nlohmann::json;

}  // namespace

FunctionHandler::FunctionHandler(Pipeline* pipeline, HandlerOptions options)
    : pipeline_(pipeline), options_(std::move(options)) {}

lambda::Handler FunctionHandler::AsLambdaHandler() const {
  return [this](std::string_view payload, const lambda::InvocationContext& ctx) {
    return Handle(payload, ctx);
  };
}

lambda::HandlerResult FunctionHandler::Handle(std::string_view payload,
                                              const lambda::InvocationContext& ctx) const noexcept {
  try {
    return HandleUnsafe(payload, ctx);
  } catch (const std::bad_alloc&) {
    return lambda::HandlerResult::Failure("Function.OutOfMemory", "out of memory");
  } catch (const std::exception& e) {
    return lambda::HandlerResult::Failure("Function.InternalError", e.what());
  } catch (...) {
    return lambda::HandlerResult::Failure("Function.InternalError", "unknown exception");
  }
}

lambda::HandlerResult FunctionHandler::HandleUnsafe(std::string_view payload,
                                                    const lambda::InvocationContext& ctx) const {
  json log = {{"level", "info"}, {"msg", "invocation"}, {"request_id", ctx.request_id}};
  auto emit = [&](int status) {
    if (!options_.log) return;
    // The invocation itself succeeds (Lambda's view: an answer went back), but an answer
    // refusing the request is a warning, and one that failed on our side an error.
    log["level"] = status >= 500 ? "error" : status >= 400 ? "warning" : "info";
    log["status"] = status;
    options_.log(log.dump(-1, ' ', false, json::error_handler_t::replace));
  };

  ParsedEvent event = ParseEvent(payload);
  log["form"] = EventFormName(event.form);
  if (!event.status.ok()) {
    emit(400);
    return lambda::HandlerResult::Success(
        RenderRefusal(event.form, 400, "InvalidRequest", event.status.message()));
  }
  const FunctionRequest& req = event.request;
  log["op"] = OperationName(req.op);
  log["inputs"] = req.inputs.size();

  auto result = pipeline_->Run(req, ctx.deadline);
  if (!result.ok()) {
    const Status& s = result.status();
    if (s.code() == Status::Code::kInvalidArgument) {
      emit(400);
      return lambda::HandlerResult::Success(
          RenderRefusal(event.form, 400, "InvalidRequest", s.message()));
    }
    if (s.code() == Status::Code::kUnavailable) {  // the bucket: nothing was run
      emit(502);
      return lambda::HandlerResult::Success(
          RenderRefusal(event.form, 502, "StoreUnavailable", s.message()));
    }
    emit(500);
    return lambda::HandlerResult::Failure(
        s.code() == Status::Code::kInternal ? "Function.InternalError" : "Function.ModelError",
        s.message());
  }
  const PipelineResult& r = *result;
  log["errors"] = r.errors.size();
  log["segmented"] = r.stats.segmented;
  log["cache_hits"] = r.stats.cache_hits;
  log["total_ms"] = static_cast<int64_t>(r.stats.total_ms);
  if (r.cropped.empty() && r.uncropped.empty()) {
    const bool out_of_time = std::any_of(r.errors.begin(), r.errors.end(),
                                         [](const auto& e) { return e.stage == "deadline"; });
    if (out_of_time) {  // the inputs may be fine: the time ran out
      emit(504);
      return lambda::HandlerResult::Success(
          RenderRefusal(event.form, 504, "DeadlineExceeded",
                        "the invocation's deadline came before the inputs could be processed (" +
                            std::to_string(req.inputs.size()) +
                            " inputs); try fewer at a time or a longer "
                            "timeout",
                        r.errors));
    }
    emit(422);
    return lambda::HandlerResult::Success(RenderRefusal(
        event.form, 422, "NoUsableInput",
        "none of the " + std::to_string(req.inputs.size()) + " inputs could be used", r.errors));
  }
  emit(200);
  return lambda::HandlerResult::Success(RenderResult(event.form, r));
}

}  // namespace sparkify::function
