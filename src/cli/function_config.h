// `sparkify function` and `sparkify segment`: their configuration, shared by the local
// emulator (the parent) and the Lambda worker, which receives it through its environment:
//
//   flag                   variable                      default
//   --model MANIFEST       SPARKIFY_MODEL                $SPARKIFY_CACHE/models/.../manifest.json
//   --size N               SPARKIFY_MODEL_SIZE           the manifest's (1024)
//   --precision P          SPARKIFY_PRECISION            fp32 (or fast, bf16, where offered)
//   --threshold T          SPARKIFY_THRESHOLD            0.10
//   --huge-pages on|off    SPARKIFY_HUGE_PAGES           on (nn::NetworkOptions::huge_pages)
//   --bucket NAME          SPARKIFY_BUCKET               (required by the worker)
//   --s3-endpoint URL      SPARKIFY_S3_ENDPOINT          empty: AWS S3 in the region
//   --region R             AWS_REGION                    us-east-1
//   --allow-private-fetch  SPARKIFY_ALLOW_PRIVATE_FETCH  off
// S3 credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
// The local emulator only (function_cmd.cpp):
//   --listen HOST:PORT        SPARKIFY_LISTEN                 127.0.0.1:9000
//   --allow-unsigned-remote   SPARKIFY_ALLOW_UNSIGNED_REMOTE  off (loopback only)
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "cli/env.h"  // DefaultModelManifest

namespace sparkify::cli {

struct FunctionConfig {
  std::string model;  // manifest path; empty: DefaultModelManifest()
  int size = 0;       // 0: the manifest's default
  std::string precision = "fp32";
  double threshold = 0.10;
  std::string huge_pages = "on";
  std::string bucket;
  std::string s3_endpoint;
  std::string region = "us-east-1";
  bool allow_private_fetch = false;
};

// Adds --model, --size, --precision, --threshold and --huge-pages (with their variables) to
// `cmd`.
void AddModelOptions(CLI::App* cmd, FunctionConfig* config);

// `sparkify function`'s worker mode (AWS_LAMBDA_RUNTIME_API is set): loads the model, serves
// the Runtime API until it goes away. A bad configuration or model is reported to
// /runtime/init/error and exits 1. Returns the exit code.
int RunFunctionWorker(const std::string& runtime_api, const FunctionConfig& config);

// `sparkify function`'s flags or variables did not parse (CLI11's error `e`, thrown by `app`'s
// parse). In worker mode (AWS_LAMBDA_RUNTIME_API set, `function` the subcommand) the Runtime
// API is told, as Runtime.ConfigError naming the variable that holds the bad value, since a
// Lambda's variables are where its configuration lives; returns the exit code. Otherwise
// (help, another subcommand, no Runtime API) does nothing and returns nullopt.
std::optional<int> ReportWorkerParseError(const CLI::App& app, const CLI::ParseError& e);

// The line the worker prints on stderr once its model is loaded, and the one for a failed
// start-up; the local emulator watches for them before saying it listens.
inline constexpr const char* kWorkerReadyLine = "sparkify function worker: ready";
inline constexpr const char* kWorkerFailedLine = "sparkify function worker: init failed: ";

}  // namespace sparkify::cli
