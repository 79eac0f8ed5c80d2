// The Runtime API loop against an in-process fake Runtime API on an ephemeral port.
#include "lambda/runtime.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/http.h"
#include "lambda/function_error.h"

namespace sparkify::lambda {
namespace {

using json = nlohmann::json;

struct Event {
  std::string request_id;
  std::string payload;
  http::HeaderList headers;  // extra Lambda-Runtime-* headers
};

struct Post {
  std::string path;
  std::string body;
  std::string error_type_header;
};

// Hands out queued events on /next and records every post.
class FakeRuntimeApi {
 public:
  FakeRuntimeApi() {
    auto server = http::Server::Start({}, [this](http::Request& req) { return Handle(req); });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  ~FakeRuntimeApi() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_->Stop();
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  void Add(Event e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  void AnswerResponsesWith(int status) { response_status_ = status; }
  // Once the queue is empty, /next answers `status` (410: the emulator's Runtime.Stale).
  void WhenEmptyAnswer(int status) {
    std::lock_guard lock(mu_);
    empty_status_ = status;
    cv_.notify_all();
  }
  std::vector<Post> posts() {
    std::lock_guard lock(mu_);
    return posts_;
  }

 private:
  http::Response Handle(http::Request& req) {
    http::Response res;
    if (req.method == "GET" && req.path == "/2018-06-01/runtime/invocation/next") {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !events_.empty() || empty_status_ != 0; });
      if (stopping_ || events_.empty()) {
        res.status = stopping_ ? 500 : empty_status_;
        return res;
      }
      Event e = std::move(events_.front());
      events_.pop_front();
      res.Set("Lambda-Runtime-Aws-Request-Id", e.request_id);
      for (auto& h : e.headers) res.headers.push_back(h);
      res.body = e.payload;
      return res;
    }
    auto body = req.ReadAll(64 << 20);
    std::lock_guard lock(mu_);
    posts_.push_back({req.path, body.ok() ? *body : "",
                      std::string(req.Header("lambda-runtime-function-error-type").value_or(""))});
    res.status = req.path.ends_with("/response") ? response_status_ : 202;
    return res;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::vector<Post> posts_;
  bool stopping_ = false;
  int response_status_ = 202;
  int empty_status_ = 0;  // 0: /next waits for an event
  std::unique_ptr<http::Server> server_;
};

RuntimeOptions Quiet(std::vector<std::string>* log_lines, uint64_t invocations) {
  RuntimeOptions o;
  o.max_invocations = invocations;
  o.log = [log_lines](std::string_view line) { log_lines->emplace_back(line); };
  return o;
}

TEST(RuntimeLoopTest, SuccessPostsTheResponseAndPassesTheContext) {
  FakeRuntimeApi api;
  api.Add({"req-1",
           R"({"x":1})",
           {{"Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:f"},
            {"Lambda-Runtime-Client-Context", R"({"custom":{}})"},
            {"Lambda-Runtime-Cognito-Identity", R"({"cognitoIdentityId":"c"})"}}});
  std::vector<std::string> log;
  InvocationContext seen;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [&](std::string_view payload, const InvocationContext& ctx) {
        seen = ctx;
        return HandlerResult::Success("echo:" + std::string(payload));
      },
      Quiet(&log, 1));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen.request_id, "req-1");
  EXPECT_EQ(seen.function_arn, "arn:aws:lambda:us-east-1:1:function:f");
  EXPECT_EQ(seen.client_context, R"({"custom":{}})");
  EXPECT_EQ(seen.cognito_identity, R"({"cognitoIdentityId":"c"})");
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(posts[0].body, R"(echo:{"x":1})");
  ASSERT_EQ(log.size(), 1u);
  json line = json::parse(log[0]);
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["outcome"], "success");
  EXPECT_TRUE(line.contains("duration_ms"));
}

TEST(RuntimeLoopTest, FailureAsDataIsPostedAsAnError) {
  FakeRuntimeApi api;
  api.Add({"req-2", "{}", {}});
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view, const InvocationContext&) {
        return HandlerResult::Failure("InvalidInput", "urls must be a list");
      },
      Quiet(&log, 1));
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/req-2/error");
  EXPECT_EQ(posts[0].error_type_header, "Function.InvalidInput");
  json body = json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "InvalidInput");
  EXPECT_EQ(body["errorMessage"], "urls must be a list");
  EXPECT_TRUE(body["stackTrace"].is_array());
  EXPECT_EQ(json::parse(log.at(0))["error_type"], "InvalidInput");
}

TEST(RuntimeLoopTest, ExceptionsAreReportedWithTheirTypeAndTheLoopGoesOn) {
  FakeRuntimeApi api;
  api.Add({"a", "std", {}});
  api.Add({"b", "int", {}});
  api.Add({"c", "ok", {}});
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view payload, const InvocationContext&) -> HandlerResult {
        if (payload == "std") throw std::out_of_range("index 7");
        if (payload == "int") throw 42;
        return HandlerResult::Success("fine");
      },
      Quiet(&log, 3));
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[0].error_type_header, "Function.StdOutOfRange");
  EXPECT_EQ(json::parse(posts[0].body)["errorType"], "std::out_of_range");
  EXPECT_EQ(json::parse(posts[0].body)["errorMessage"], "index 7");
  EXPECT_EQ(posts[1].error_type_header, "Function.Int");
  EXPECT_EQ(json::parse(posts[1].body)["errorType"], "int");
  EXPECT_EQ(posts[2].path, "/2018-06-01/runtime/invocation/c/response");
  EXPECT_EQ(json::parse(log.at(0))["outcome"], "exception");
}

TEST(RuntimeLoopTest, DeadlineReachesTheHandler) {
  FakeRuntimeApi api;
  api.Add({"d", "{}", {{"Lambda-Runtime-Deadline-Ms", "1700000003000"}}});
  ManualClock clock(TimePoint(std::chrono::milliseconds(1700000000000)));
  std::vector<std::string> log;
  RuntimeOptions options = Quiet(&log, 1);
  options.clock = &clock;
  std::chrono::milliseconds remaining{0};
  TimePoint deadline{};
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [&](std::string_view, const InvocationContext& ctx) {
        deadline = ctx.deadline;
        remaining = ctx.RemainingTime();
        return HandlerResult::Success("{}");
      },
      options);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(deadline, TimePoint(std::chrono::milliseconds(1700000003000)));
  EXPECT_EQ(remaining, std::chrono::milliseconds(3000));
}

TEST(RuntimeLoopTest, OversizedResponseIsReportedInsteadOfPosted) {
  FakeRuntimeApi api;
  api.Add({"big", "{}", {}});
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view, const InvocationContext&) {
        return HandlerResult::Success(std::string(kMaxResponseBytes + 1, 'x'));
      },
      Quiet(&log, 1));
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/big/error");
  EXPECT_EQ(posts[0].error_type_header, "Function.ResponseSizeTooLarge");
  EXPECT_NE(posts[0].body.find("6291556"), std::string::npos);
  EXPECT_EQ(json::parse(log.at(0))["outcome"], "response_too_large");
}

TEST(RuntimeLoopTest, TraceIdHookRunsBeforeTheHandler) {
  FakeRuntimeApi api;
  api.Add({"t", "{}", {{"Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"}}});
  std::vector<std::string> log;
  std::vector<std::string> events;
  RuntimeOptions options = Quiet(&log, 1);
  options.on_trace_id = [&](const std::string& id) { events.push_back("hook " + id); };
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [&](std::string_view, const InvocationContext& ctx) {
        events.push_back("handler " + ctx.trace_id);
        return HandlerResult::Success("{}");
      },
      options);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "hook Root=1-5759e988-bd862e3fe1be46a994272793");
  EXPECT_EQ(events[1], "handler Root=1-5759e988-bd862e3fe1be46a994272793");
}

TEST(RuntimeLoopTest, ThrowingHooksDoNotStopTheLoop) {
  FakeRuntimeApi api;
  api.Add({"h1", "{}", {}});
  api.Add({"h2", "{}", {}});
  RuntimeOptions options;
  options.max_invocations = 2;
  options.on_trace_id = [](const std::string&) { throw std::runtime_error("hook"); };
  options.log = [](std::string_view) { throw std::runtime_error("sink"); };
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view, const InvocationContext&) { return HandlerResult::Success("{}"); },
      options);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(api.posts().size(), 2u);
}

TEST(RuntimeLoopTest, LogLinesNeverContainThePayload) {
  FakeRuntimeApi api;
  api.Add({"p1", R"({"secret":"hunter2-payload"})", {}});
  api.Add({"p2", R"({"secret":"hunter2-payload"})", {}});
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view payload, const InvocationContext&) -> HandlerResult {
        static int n = 0;
        if (n++ == 0) return HandlerResult::Success(std::string(payload));
        throw std::runtime_error("failed");
      },
      Quiet(&log, 2));
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(log.size(), 2u);
  for (const auto& line : log) EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
}

TEST(RuntimeLoopTest, RejectedResponseIsLoggedAndTheLoopGoesOn) {
  FakeRuntimeApi api;
  api.AnswerResponsesWith(413);
  api.Add({"r1", "{}", {}});
  api.Add({"r2", "{}", {}});
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view, const InvocationContext&) { return HandlerResult::Success("{}"); },
      Quiet(&log, 2));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(api.posts().size(), 2u);
  bool saw_problem = false;
  for (const auto& line : log) saw_problem |= line.find("413") != std::string::npos;
  EXPECT_TRUE(saw_problem);
}

// The local emulator answers /next with 410 when it stops (or has replaced the process): the
// loop ends cleanly, saying so at info level; any other answer is still an error.
TEST(RuntimeLoopTest, StaleRuntimeEndsTheLoopCleanly) {
  FakeRuntimeApi api;
  api.Add({"r1", "{}", {}});
  api.WhenEmptyAnswer(410);
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      api.endpoint(),
      [](std::string_view, const InvocationContext&) { return HandlerResult::Success("{}"); },
      Quiet(&log, 0));
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(api.posts().size(), 1u);
  ASSERT_FALSE(log.empty());
  for (const auto& line : log) EXPECT_EQ(json::parse(line)["level"], "info") << line;
  EXPECT_NE(log.back().find("410"), std::string::npos) << log.back();

  FakeRuntimeApi broken;
  broken.WhenEmptyAnswer(500);
  log.clear();
  s = RunRuntimeLoop(
      broken.endpoint(),
      [](std::string_view, const InvocationContext&) { return HandlerResult::Success("{}"); },
      Quiet(&log, 0));
  EXPECT_EQ(s.code(), Status::Code::kInternal) << s.ToString();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(json::parse(log[0])["level"], "error") << log[0];
}

TEST(RuntimeLoopTest, UnreachableRuntimeApiEndsTheLoopWithAnError) {
  uint16_t port;
  {
    FakeRuntimeApi gone;
    port = static_cast<uint16_t>(std::stoi(gone.endpoint().substr(10)));
  }
  std::vector<std::string> log;
  Status s = RunRuntimeLoop(
      "127.0.0.1:" + std::to_string(port),
      [](std::string_view, const InvocationContext&) { return HandlerResult::Success("{}"); },
      Quiet(&log, 0));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
}

TEST(RuntimeLoopTest, InitErrorIsPostedWithItsType) {
  FakeRuntimeApi api;
  Status s = ReportInitError(api.endpoint(), "Runtime.InitError", "model file is corrupt");
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(posts[0].error_type_header, "Runtime.InitError");
  json body = json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "Runtime.InitError");
  EXPECT_EQ(body["errorMessage"], "model file is corrupt");
}

TEST(FunctionErrorTest, ErrorTypeHeaderAlwaysMatchesThePattern) {
  struct Case {
    const char* type;
    const char* header;
  } cases[] = {
      {"Runtime.InitError", "Runtime.InitError"},
      {"Function.ResponseSizeTooLarge", "Function.ResponseSizeTooLarge"},
      {"std::runtime_error", "Function.StdRuntimeError"},
      {"InvalidInput", "Function.InvalidInput"},
      {"Runtime.bad", "Function.RuntimeBad"},
      {"42", "Function.Error"},
      {"", "Function.Error"},
      {"x", "Function.Error"},
  };
  for (const auto& c : cases) {
    std::string h = ErrorTypeHeader(c.type);
    EXPECT_EQ(h, c.header) << c.type;
    EXPECT_TRUE(IsValidErrorTypeHeader(h)) << h;
  }
  EXPECT_FALSE(IsValidErrorTypeHeader("Function."));
  EXPECT_FALSE(IsValidErrorTypeHeader("Function.A"));
  EXPECT_FALSE(IsValidErrorTypeHeader("Function.Abc1"));
}

TEST(FunctionErrorTest, ErrorJsonSurvivesInvalidUtf8) {
  std::string doc = FunctionErrorJson("T", std::string("bad \xff byte"));
  auto parsed = ParseFunctionError(doc);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->error_type, "T");
  EXPECT_FALSE(ParseFunctionError("not json").has_value());
}

}  // namespace
}  // namespace sparkify::lambda
