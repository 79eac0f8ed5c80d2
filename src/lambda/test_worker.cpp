// lambda_test_worker: a function process for the emulator's tests. It runs RunRuntimeLoop
// against AWS_LAMBDA_RUNTIME_API, like a real function would, with a handler whose behaviour
// the payload selects: {"op": ...}
//   echo     answer the payload                    error   failure as data (TestError)
//   throw    throw std::runtime_error              sleep   sleep "ms", then answer
//   abort    abort()                               exit    exit("code")
//   segv     raise(SIGSEGV)
//   huge     answer "bytes" bytes                  log     print "lines" to stderr, answer
//   context  answer the InvocationContext          env     answer getenv("name")
//   times    sleep "ms", answer monotonic start/end times and the pid
//   fds      answer the open file descriptors above 2, and how many listen (TCP)
// At start-up: LAMBDA_TEST_INIT_FAIL=TYPE:message reports an init error and exits 1;
// LAMBDA_TEST_INIT_EXIT=N exits N without a word; LAMBDA_TEST_INIT_LOG=text prints text
// first; LAMBDA_TEST_NO_SIZE_CHECK=1 posts oversized responses anyway.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "lambda/runtime.h"

namespace {

using json = nlohmann::json;
using sparkify::lambda::HandlerResult;
using sparkify::lambda::InvocationContext;

void Say(const std::string& line) {
  std::string out = line + "\n";
  (void)!::write(STDERR_FILENO, out.data(), out.size());
}

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

HandlerResult Handle(std::string_view payload, const InvocationContext& ctx) {
  json event = json::parse(payload, nullptr, false);
  std::string op = event.is_object() ? event.value("op", "echo") : "echo";
  if (op == "echo") return HandlerResult::Success(std::string(payload));
  if (op == "error") return HandlerResult::Failure("TestError", event.value("message", "bad"));
  if (op == "throw") throw std::runtime_error(event.value("message", "thrown"));
  if (op == "sleep") {
    std::this_thread::sleep_for(std::chrono::milliseconds(event.value("ms", 0)));
    return HandlerResult::Success(R"({"slept":true})");
  }
  if (op == "abort") std::abort();
  if (op == "segv") std::raise(SIGSEGV);
  if (op == "exit") std::exit(event.value("code", 3));
  if (op == "huge") return HandlerResult::Success(std::string(event.value("bytes", 0), 'x'));
  if (op == "log") {
    for (const auto& line : event.value("lines", json::array())) Say(line.get<std::string>());
    return HandlerResult::Success(R"({"logged":true})");
  }
  if (op == "context") {
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");
    json out = {{"request_id", ctx.request_id},
                {"function_arn", ctx.function_arn},
                {"trace_id", ctx.trace_id},
                {"trace_env", trace != nullptr ? trace : ""},
                {"client_context", ctx.client_context},
                {"remaining_ms", ctx.RemainingTime().count()}};
    return HandlerResult::Success(out.dump());
  }
  if (op == "env") {
    const char* value = std::getenv(event.value("name", "").c_str());
    return HandlerResult::Success(json{{"value", value != nullptr ? value : ""}}.dump());
  }
  if (op == "fds") {                  // what the worker holds beyond stdin/stdout/stderr
    std::set<std::string> listening;  // inodes of listening TCP sockets
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
      std::ifstream in(table);
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string f[10];
        for (auto& x : f) fields >> x;
        if (f[3] == "0A") listening.insert(f[9]);
      }
    }
    json out = {{"targets", json::array()}, {"listening", 0}};
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      int fd = std::stoi(entry.path().filename().string());
      std::error_code ec;
      std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
      if (fd <= 2 || ec) continue;
      out["targets"].push_back(target);
      if (target.starts_with("socket:[") &&
          listening.count(target.substr(8, target.size() - 9)) > 0) {
        out["listening"] = out["listening"].get<int>() + 1;
      }
    }
    return HandlerResult::Success(out.dump());
  }
  if (op == "times") {
    int64_t start = MonotonicMs();
    std::this_thread::sleep_for(std::chrono::milliseconds(event.value("ms", 0)));
    json out = {{"start", start}, {"end", MonotonicMs()}, {"pid", ::getpid()}};
    return HandlerResult::Success(out.dump());
  }
  return HandlerResult::Failure("UnknownOp", "no such op: " + op);
}

}  // namespace

int main() {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == nullptr) {
    Say("lambda_test_worker: AWS_LAMBDA_RUNTIME_API is not set");
    return 2;
  }
  if (const char* text = std::getenv("LAMBDA_TEST_INIT_LOG")) Say(text);
  if (const char* fail = std::getenv("LAMBDA_TEST_INIT_FAIL")) {
    std::string spec = fail;
    size_t colon = spec.find(':');
    auto s = sparkify::lambda::ReportInitError(
        api, spec.substr(0, colon), colon == std::string::npos ? "" : spec.substr(colon + 1));
    if (!s.ok()) Say("init error report failed: " + s.ToString());
    return 1;
  }
  if (const char* code = std::getenv("LAMBDA_TEST_INIT_EXIT")) return std::atoi(code);

  sparkify::lambda::RuntimeOptions options;
  options.on_trace_id = [](const std::string& id) { ::setenv("_X_AMZN_TRACE_ID", id.c_str(), 1); };
  if (std::getenv("LAMBDA_TEST_NO_SIZE_CHECK") != nullptr) options.max_response_bytes = 64u << 20;
  sparkify::Status s = sparkify::lambda::RunRuntimeLoop(api, Handle, options);
  Say("lambda_test_worker: " + s.ToString());
  return s.ok() ? 0 : 1;
}
