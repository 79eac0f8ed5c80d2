// The emulator with a real worker child process (lambda_test_worker): the Invoke API's
// answers, invocation types, limits, logs and queueing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/crypto.h"
#include "lambda/emulator.h"
#include "lambda/test_util.h"

namespace sparkify::lambda {
namespace {

using json = nlohmann::json;
using testing::kRiePath;
using testing::LogCapture;
using testing::Post;

TEST(EmulatorTest, AnswersWithTheFunctionsResult) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"echo","x":1})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"op":"echo","x":1})");
  EXPECT_EQ(r.Header("x-amz-executed-version"), "$LATEST");
  EXPECT_EQ(r.Header("x-amzn-requestid").size(), 36u);
  EXPECT_EQ(r.Header("x-amz-function-error"), "");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  std::string id = r.Header("x-amzn-requestid");
  EXPECT_TRUE(log.Contains("START RequestId: " + id + " Version: $LATEST"));
  EXPECT_TRUE(log.Contains("END RequestId: " + id));
  EXPECT_TRUE(log.Contains("REPORT RequestId: " + id + "\tDuration: "));
  EXPECT_TRUE(log.Contains("\tMemory Size: 3008 MB\tMax Memory Used: "));
  EXPECT_EQ(emu->stats().invocations, 1u);
}

TEST(EmulatorTest, AcceptsTheFunctionByNameArnAndQualifier) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.function_name = "sparkify";
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  const char* ok_paths[] = {
      "/2015-03-31/functions/function/invocations",
      "/2015-03-31/functions/sparkify/invocations",
      "/2015-03-31/functions/sparkify/invocations?Qualifier=%24LATEST",
      "/2015-03-31/functions/sparkify%3A%24LATEST/invocations",
      ("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Asparkify"
       "/invocations"),
      "/2015-03-31/functions/000000000000%3Afunction%3Asparkify/invocations",
  };
  for (const char* path : ok_paths) {
    EXPECT_EQ(Post(emu->port(), path, "{}").status, 200) << path;
  }
  auto missing = Post(emu->port(), "/2015-03-31/functions/other/invocations", "{}");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("x-amzn-errortype"), "ResourceNotFoundException");
  json body = json::parse(missing.body);
  EXPECT_EQ(body["Type"], "User");
  EXPECT_EQ(body["Message"],
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:other");
  const char* not_found[] = {
      "/2015-03-31/functions/sparkify/invocations?Qualifier=7",
      ("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Asparkify"
       "/invocations"),
      "/2015-03-31/functions/123456789012%3Afunction%3Asparkify/invocations",
  };
  for (const char* path : not_found) {
    EXPECT_EQ(Post(emu->port(), path, "{}").status, 404) << path;
  }
  auto unknown = Post(emu->port(), "/2015-03-31/functions/sparkify/configuration", "{}");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Header("x-amzn-errortype"), "UnknownOperationException");
}

TEST(EmulatorTest, FunctionErrorsAreFlaggedUnhandled) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"error","message":"no covers"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-amz-function-error"), "Unhandled");
  json body = json::parse(r.body);
  EXPECT_EQ(body["errorType"], "TestError");
  EXPECT_EQ(body["errorMessage"], "no covers");

  auto thrown = Post(emu->port(), kRiePath, R"({"op":"throw","message":"kaput"})");
  EXPECT_EQ(thrown.status, 200);
  EXPECT_EQ(thrown.Header("x-amz-function-error"), "Unhandled");
  EXPECT_EQ(json::parse(thrown.body)["errorType"], "std::runtime_error");
  EXPECT_EQ(emu->stats().worker_starts, 1u);  // exceptions do not cost the process
}

TEST(EmulatorTest, OversizedPayloadsAreRefusedWith413) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  std::string big = "\"" + std::string(kMaxSyncPayloadBytes, 'x') + "\"";
  auto r = Post(emu->port(), kRiePath, big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "RequestTooLargeException");
  json body = json::parse(r.body);
  EXPECT_EQ(body["Type"], "User");
  EXPECT_NE(body["message"].get<std::string>().find("6291456"), std::string::npos);
  // Event invocations allow 1 MiB.
  std::string medium = "\"" + std::string(kMaxAsyncPayloadBytes, 'x') + "\"";
  auto event = Post(emu->port(), kRiePath, medium, {"X-Amz-Invocation-Type: Event"});
  EXPECT_EQ(event.status, 413);
  EXPECT_EQ(Post(emu->port(), kRiePath, medium).status, 200);
}

TEST(EmulatorTest, PayloadMustBeJson) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Header("x-amzn-errortype"), "InvalidRequestContentException");
  auto bad_type = Post(emu->port(), kRiePath, "{}", {"X-Amz-Invocation-Type: Sometimes"});
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(bad_type.Header("x-amzn-errortype"), "InvalidParameterValueException");
}

TEST(EmulatorTest, EventInvocationsRunInTheBackground) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"log","lines":["from the event"]})",
                {"X-Amz-Invocation-Type: Event"});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "");
  std::string id = r.Header("x-amzn-requestid");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(log.WaitFor("END RequestId: " + id));
  EXPECT_TRUE(log.Contains("from the event"));
}

TEST(EmulatorTest, DryRunChecksWithoutRunning) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, "{}", {"X-Amz-Invocation-Type: DryRun"});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(Post(emu->port(), "/2015-03-31/functions/nope/invocations", "{}",
                 {"X-Amz-Invocation-Type: DryRun"})
                .status,
            404);
  EXPECT_EQ(emu->stats().invocations, 0u);
}

TEST(EmulatorTest, LogTailHasTheInvocationsLines) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"log","lines":["hello from the worker"]})",
                {"X-Amz-Log-Type: Tail"});
  ASSERT_EQ(r.status, 200);
  auto tail = Base64Decode(r.Header("x-amz-log-result"));
  ASSERT_TRUE(tail.has_value()) << r.Header("x-amz-log-result");
  std::string id = r.Header("x-amzn-requestid");
  EXPECT_NE(tail->find("START RequestId: " + id), std::string::npos) << *tail;
  EXPECT_NE(tail->find("hello from the worker\n"), std::string::npos) << *tail;
  EXPECT_NE(tail->find("END RequestId: " + id), std::string::npos) << *tail;
  EXPECT_NE(tail->find("Max Memory Used: "), std::string::npos) << *tail;
  // The per-invocation JSON log line of the runtime loop is there, without the payload.
  EXPECT_NE(tail->find(R"("outcome":"success")"), std::string::npos) << *tail;

  // Only the last 4 KB.
  json lines = json::array();
  for (int i = 0; i < 200; ++i) lines.push_back("line " + std::to_string(i) + std::string(40, '.'));
  auto big = Post(emu->port(), kRiePath, json{{"op", "log"}, {"lines", lines}}.dump(),
                  {"X-Amz-Log-Type: Tail"});
  auto big_tail = Base64Decode(big.Header("x-amz-log-result"));
  ASSERT_TRUE(big_tail.has_value());
  EXPECT_EQ(big_tail->size(), 4096u);
  EXPECT_NE(big_tail->find("line 199"), std::string::npos);
  EXPECT_EQ(big_tail->find("line 0."), std::string::npos);
  // Without Tail, no header.
  EXPECT_EQ(Post(emu->port(), kRiePath, "{}").Header("x-amz-log-result"), "");
}

TEST(EmulatorTest, ContextReachesTheWorker) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  std::string trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
  auto r = Post(emu->port(), kRiePath, R"({"op":"context"})",
                {"X-Amzn-Trace-Id: " + trace,
                 "X-Amz-Client-Context: " + Base64Encode(R"({"custom":{"a":"b"}})")});
  ASSERT_EQ(r.status, 200) << r.body;
  json ctx = json::parse(r.body);
  EXPECT_EQ(ctx["request_id"], r.Header("x-amzn-requestid"));
  EXPECT_EQ(ctx["function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:function");
  EXPECT_EQ(ctx["trace_id"], trace);
  EXPECT_EQ(ctx["trace_env"], trace);  // exported by the worker's hook
  EXPECT_EQ(ctx["client_context"], R"({"custom":{"a":"b"}})");
  EXPECT_GT(ctx["remaining_ms"].get<int64_t>(), 290000);
  EXPECT_LE(ctx["remaining_ms"].get<int64_t>(), 300000);

  auto env = Post(emu->port(), kRiePath, R"({"op":"env","name":"AWS_LAMBDA_FUNCTION_NAME"})");
  EXPECT_EQ(json::parse(env.body)["value"], "function");
  auto api = Post(emu->port(), kRiePath, R"({"op":"env","name":"AWS_LAMBDA_RUNTIME_API"})");
  EXPECT_TRUE(json::parse(api.body)["value"].get<std::string>().starts_with("unix:/"));
}

TEST(EmulatorTest, WorkerInheritsNoDescriptorsOfOurs) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"fds"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json fds = json::parse(r.body);
  for (const auto& target : fds["targets"]) {
    std::string t = target.get<std::string>();
    EXPECT_FALSE(t.starts_with("pipe:") || t.starts_with("anon_inode:")) << t;
  }
  EXPECT_EQ(fds["listening"], 0) << r.body;  // none of our servers' sockets
}

TEST(EmulatorTest, ConcurrentInvokesQueueAndRunOneAtATime) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  constexpr int kClients = 4;
  std::vector<testing::Reply> replies(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back(
        [&, i] { replies[i] = Post(emu->port(), kRiePath, R"({"op":"times","ms":150})"); });
  }
  for (auto& t : threads) t.join();
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const auto& r : replies) {
    ASSERT_EQ(r.status, 200) << r.body;
    json t = json::parse(r.body);
    spans.emplace_back(t["start"].get<int64_t>(), t["end"].get<int64_t>());
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_GE(spans[i].first, spans[i - 1].second) << "invocations overlapped";
  }
}

TEST(EmulatorTest, SeveralWorkersRunInParallel) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.workers = 2;
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  std::vector<testing::Reply> replies(2);
  std::thread a([&] { replies[0] = Post(emu->port(), kRiePath, R"({"op":"times","ms":1500})"); });
  std::thread b([&] { replies[1] = Post(emu->port(), kRiePath, R"({"op":"times","ms":1500})"); });
  a.join();
  b.join();
  json ta = json::parse(replies[0].body);
  json tb = json::parse(replies[1].body);
  EXPECT_NE(ta["pid"], tb["pid"]);
  EXPECT_LT(std::max(ta["start"].get<int64_t>(), tb["start"].get<int64_t>()),
            std::min(ta["end"].get<int64_t>(), tb["end"].get<int64_t>()))
      << "the two workers did not overlap";
}

TEST(EmulatorTest, FullQueueAnswers429) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.max_queued = 1;
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  auto busy =
      Post(emu->port(), kRiePath, R"({"op":"sleep","ms":60000})", {"X-Amz-Invocation-Type: Event"});
  ASSERT_EQ(busy.status, 202);
  ASSERT_TRUE(log.WaitFor("START RequestId: " + busy.Header("x-amzn-requestid")));
  auto queued = Post(emu->port(), kRiePath, "{}", {"X-Amz-Invocation-Type: Event"});
  EXPECT_EQ(queued.status, 202);
  auto refused = Post(emu->port(), kRiePath, "{}");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.Header("x-amzn-errortype"), "TooManyRequestsException");
  EXPECT_EQ(json::parse(refused.body)["Reason"], "ConcurrentInvocationLimitExceeded");
  emu->Stop();  // kills the sleeping worker; the test does not wait a minute
}

TEST(EmulatorTest, StartRefusesBadOptions) {
  EmulatorOptions no_worker;
  EXPECT_EQ(Emulator::Start(no_worker).status().code(), Status::Code::kInvalidArgument);
  LogCapture log;
  EmulatorOptions bad_name = testing::WorkerOptions(&log);
  bad_name.function_name = "no/slash";
  EXPECT_EQ(Emulator::Start(bad_name).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sparkify::lambda
