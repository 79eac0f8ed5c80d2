// `sparkify function` as the Lambda function's process: configuration from the environment
// (and flags), the model loaded once, then the Runtime API loop with the function's handler.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/env.h"
#include "cli/function_config.h"
#include "common/heap.h"
#include "fetch/fetcher.h"
#include "function/handler.h"
#include "function/models.h"
#include "function/object_store.h"
#include "function/pipeline.h"
#include "lambda/runtime.h"
#include "s3client/s3client.h"

namespace sparkify::cli {
namespace {

using json = nlohmann::json;

void Say(const std::string& line) {
  std::string out = line + "\n";
  (void)!::write(STDERR_FILENO, out.data(), out.size());
}

// Reports a start-up failure to the Runtime API and says it on stderr; returns the exit code.
int InitFailed(const std::string& api, const std::string& type, const std::string& message) {
  Say(std::string(kWorkerFailedLine) + message);
  Status s = lambda::ReportInitError(api, type, message);
  if (!s.ok()) Say("sparkify function worker: cannot report the init error: " + s.ToString());
  return 1;
}

s3client::ClientOptions S3Options(const FunctionConfig& c, sigv4::Credentials credentials) {
  s3client::ClientOptions o;
  if (!c.s3_endpoint.empty()) {
    o.endpoint = c.s3_endpoint;
    o.addressing = s3client::Addressing::kPath;
  } else if (c.region == "us-east-1") {
    o.endpoint = "https://s3.amazonaws.com";
    o.addressing = s3client::Addressing::kAuto;
  } else {
    o.endpoint = "https://s3." + c.region + ".amazonaws.com";
    o.addressing = s3client::Addressing::kVirtualHosted;
  }
  o.region = c.region;
  o.credentials = std::move(credentials);
  o.request_timeout = std::chrono::seconds(60);
  return o;
}

// Merges the handler's per-invocation summary into the runtime loop's line for the same
// request, so each invocation gives exactly one JSON log line.
class InvocationLog {
 public:
  void Summary(std::string_view line) {
    std::lock_guard lock(mu_);
    pending_ = json::parse(line, nullptr, false);
  }
  void Loop(std::string_view line) {
    std::lock_guard lock(mu_);
    json out = json::parse(line, nullptr, false);
    if (out.is_object() && pending_ && pending_->is_object() &&
        out.value("request_id", "") == pending_->value("request_id", "")) {
      for (const auto& [k, v] : pending_->items()) {
        if (!out.contains(k)) out[k] = v;
      }
      // The more severe level of the two: Lambda's "success" can carry a refused request.
      auto rank = [](const json& level) {
        return level == "error" ? 2 : level == "warning" ? 1 : 0;
      };
      if (pending_->contains("level") &&
          rank((*pending_)["level"]) > rank(out.value("level", ""))) {
        out["level"] = (*pending_)["level"];
      }
      pending_.reset();
      Say(out.dump(-1, ' ', false, json::error_handler_t::replace));
      return;
    }
    Say(std::string(line));
  }

 private:
  std::mutex mu_;
  std::optional<json> pending_;
};

}  // namespace

std::optional<int> ReportWorkerParseError(const CLI::App& app, const CLI::ParseError& e) {
  const auto api = Env("AWS_LAMBDA_RUNTIME_API");
  if (!api || e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return std::nullopt;
  const CLI::App* function = nullptr;
  try {
    function = app.get_subcommand("function");
  } catch (const CLI::OptionNotFound&) {
    return std::nullopt;
  }
  if (!function->parsed()) return std::nullopt;
  // A Lambda's configuration is its variables: name the one that holds the bad value.
  const std::string what = e.what();
  const std::string var = VariableBehind(*function, what);
  return InitFailed(*api, "Runtime.ConfigError",
                    "bad configuration: " + what +
                        (var.empty() ? "" : " (from " + var + " in the function's environment)"));
}

int RunFunctionWorker(const std::string& api, const FunctionConfig& config) {
  if (config.bucket.empty()) {
    return InitFailed(api, "Runtime.ConfigError",
                      "no bucket: set SPARKIFY_BUCKET (or --bucket) to the bucket for cut-outs");
  }
  auto key_id = Env("AWS_ACCESS_KEY_ID");
  auto secret = Env("AWS_SECRET_ACCESS_KEY");
  if (!key_id || !secret) {
    return InitFailed(api, "Runtime.ConfigError",
                      "no S3 credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
                      "(Lambda sets them from the execution role)");
  }
  const std::string manifest = config.model.empty() ? DefaultModelManifest() : config.model;
  function::ModelCacheOptions model_options;
  model_options.manifest_path = manifest;
  model_options.default_size = config.size;
  model_options.precision = config.precision;
  model_options.huge_pages = config.huge_pages == "on";
  KeepLargeBuffersForReuse();  // a request's buffers are reused, not faulted in again
  auto models = function::ModelCache::Open(model_options);
  if (!models.ok()) {
    return InitFailed(api, "Runtime.ModelError",
                      "cannot load the model " + manifest + ": " + models.status().ToString());
  }

  auto s3 = std::make_shared<s3client::S3Client>(
      S3Options(config, {*key_id, *secret, Env("AWS_SESSION_TOKEN").value_or("")}));
  function::S3ObjectStore bucket(s3, config.bucket);
  fetch::FetchOptions fetch_options;
  fetch_options.allow_private = config.allow_private_fetch;
  fetch::HttpFetcher fetcher(fetch_options);

  function::PipelineEnv env;
  env.store = &bucket;
  env.fetcher = &fetcher;
  env.models = models->get();
  function::PipelineOptions pipeline_options;
  pipeline_options.threshold = config.threshold;
  function::Pipeline pipeline(env, pipeline_options);

  InvocationLog log;
  function::HandlerOptions handler_options;
  handler_options.log = [&log](std::string_view line) { log.Summary(line); };
  function::FunctionHandler handler(&pipeline, handler_options);

  lambda::RuntimeOptions runtime_options;
  runtime_options.on_trace_id = [](const std::string& id) {
    if (id.empty()) {
      ::unsetenv("_X_AMZN_TRACE_ID");
    } else {
      ::setenv("_X_AMZN_TRACE_ID", id.c_str(), 1);
    }
  };
  runtime_options.log = [&log](std::string_view line) { log.Loop(line); };

  Say(std::string(kWorkerReadyLine) + " (pid " + std::to_string(::getpid()) + ", model " +
      (*models)->model_name() + "@" + std::to_string((*models)->default_size()) + ", bucket " +
      bucket.Describe() + (config.allow_private_fetch ? ", private fetches allowed" : "") + ")");
  Status s = lambda::RunRuntimeLoop(api, handler.AsLambdaHandler(), runtime_options);
  Say(s.ok() ? std::string("sparkify function worker: stopped")
             : "sparkify function worker: runtime loop ended: " + s.ToString());
  return s.ok() ? 0 : 1;
}

}  // namespace sparkify::cli
