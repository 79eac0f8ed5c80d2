// The emulator when the worker misbehaves: timeouts, crashes, init failures, oversized
// responses, a command that cannot start. The endpoint must answer every time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "lambda/emulator.h"
#include "lambda/test_util.h"

namespace sparkify::lambda {
namespace {

using json = nlohmann::json;
using testing::kRiePath;
using testing::LogCapture;
using testing::Post;

void ExpectUnhandled(const testing::Reply& r, const std::string& type,
                     const std::string& message_part) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-amz-function-error"), "Unhandled") << r.body;
  json body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["errorType"], type) << r.body;
  EXPECT_NE(body["errorMessage"].get<std::string>().find(message_part), std::string::npos)
      << r.body;
}

TEST(EmulatorFailureTest, TimeoutKillsAndRestartsTheWorker) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.timeout = std::chrono::milliseconds(1000);
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"sleep","ms":30000})", {"X-Amz-Log-Type: Tail"});
  std::string id = r.Header("x-amzn-requestid");
  ExpectUnhandled(r, "Sandbox.Timedout",
                  "RequestId: " + id + " Error: Task timed out after 1.00 seconds");
  EXPECT_TRUE(log.Contains("REPORT RequestId: " + id));
  EXPECT_TRUE(log.Contains("\tStatus: timeout"));
  auto next = Post(emu->port(), kRiePath, R"({"op":"echo"})");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, R"({"op":"echo"})");
  EXPECT_EQ(emu->stats().worker_starts, 2u);
}

TEST(EmulatorFailureTest, CrashIsAnsweredAndTheNextInvokeWorks) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  auto aborted = Post(emu->port(), kRiePath, R"({"op":"abort"})");
  ExpectUnhandled(aborted, "Runtime.ExitError", "Runtime exited with error: signal: aborted");
  EXPECT_TRUE(log.Contains("\tStatus: error\tError Type: Runtime.ExitError"));
  EXPECT_EQ(Post(emu->port(), kRiePath, "{}").status, 200);

  auto segv = Post(emu->port(), kRiePath, R"({"op":"segv"})");
  ExpectUnhandled(segv, "Runtime.ExitError",
                  "Runtime exited with error: signal: segmentation fault");
  auto exited = Post(emu->port(), kRiePath, R"({"op":"exit","code":3})");
  ExpectUnhandled(exited, "Runtime.ExitError", "Runtime exited with error: exit status 3");
  auto after = Post(emu->port(), kRiePath, R"({"op":"echo","n":2})");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, R"({"op":"echo","n":2})");
  EXPECT_EQ(emu->stats().worker_starts, 4u);
}

TEST(EmulatorFailureTest, InitErrorIsAnsweredWithTheWorkersTypeAndRetried) {
  LogCapture log;
  auto emu = testing::StartOrDie(
      testing::WorkerOptions(&log, {"LAMBDA_TEST_INIT_LOG=loading model",
                                    "LAMBDA_TEST_INIT_FAIL=Runtime.ModelMissing:"
                                    "no model at /opt/model.onnx"}));
  ASSERT_TRUE(emu);
  auto first = Post(emu->port(), kRiePath, "{}", {"X-Amz-Log-Type: Tail"});
  ExpectUnhandled(first, "Runtime.ModelMissing", "no model at /opt/model.onnx");
  auto tail = Base64Decode(first.Header("x-amz-log-result"));
  ASSERT_TRUE(tail.has_value());
  EXPECT_NE(tail->find("loading model"), std::string::npos) << *tail;
  auto second = Post(emu->port(), kRiePath, "{}");
  ExpectUnhandled(second, "Runtime.ModelMissing", "no model");
  // One eager start at Start(), one per invoke after that.
  EXPECT_GE(emu->stats().worker_starts, 2u);
  EXPECT_LE(emu->stats().worker_starts, 3u);
  EXPECT_TRUE(
      log.Contains("INIT_REPORT Phase: init\tStatus: error\tError Type: Runtime.ModelMissing"));
}

TEST(EmulatorFailureTest, InitExitWithoutReportIsAnExitError) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log, {"LAMBDA_TEST_INIT_EXIT=2"});
  options.start_workers_eagerly = false;
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, "{}");
  ExpectUnhandled(r, "Runtime.ExitError", "Runtime exited with error: exit status 2");
  EXPECT_EQ(emu->stats().worker_starts, 1u);
}

TEST(EmulatorFailureTest, InitTimeoutIsAnswered) {
  LogCapture log;
  // A worker that never calls /next: `sleep` stands in for a hung start-up.
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.worker_command = {"sleep", "60"};
  options.init_timeout = std::chrono::milliseconds(500);
  options.start_workers_eagerly = false;
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, "{}");
  ExpectUnhandled(r, "Sandbox.Timedout", "Init timed out after 0.50 seconds");
}

TEST(EmulatorFailureTest, CommandThatCannotStartIsAnInvalidEntrypoint) {
  LogCapture log;
  EmulatorOptions options = testing::WorkerOptions(&log);
  options.worker_command = {"/nonexistent/worker"};
  auto emu = testing::StartOrDie(options);
  ASSERT_TRUE(emu);
  for (int i = 0; i < 2; ++i) {
    auto r = Post(emu->port(), kRiePath, "{}");
    ExpectUnhandled(r, "Runtime.InvalidEntrypoint", "/nonexistent/worker");
  }
}

TEST(EmulatorFailureTest, OversizedResponsesAreFunctionErrors) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  // The runtime loop refuses to post it...
  auto r = Post(emu->port(), kRiePath, R"({"op":"huge","bytes":6291557})");
  ExpectUnhandled(r, "Function.ResponseSizeTooLarge", "6291556 bytes");
  // ...and exactly at the limit it goes through.
  auto at_limit = Post(emu->port(), kRiePath, R"({"op":"huge","bytes":6291556})");
  EXPECT_EQ(at_limit.status, 200);
  EXPECT_EQ(at_limit.body.size(), 6291556u);
}

TEST(EmulatorFailureTest, RuntimeApiRefusesOversizedResponsesItself) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log, {"LAMBDA_TEST_NO_SIZE_CHECK=1"}));
  ASSERT_TRUE(emu);
  auto r = Post(emu->port(), kRiePath, R"({"op":"huge","bytes":7000000})");
  ExpectUnhandled(r, "Function.ResponseSizeTooLarge",
                  "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
  EXPECT_EQ(Post(emu->port(), kRiePath, "{}").status, 200);  // the worker carries on
}

TEST(EmulatorFailureTest, StopAnswersWaitingClients) {
  LogCapture log;
  auto emu = testing::StartOrDie(testing::WorkerOptions(&log));
  ASSERT_TRUE(emu);
  testing::Reply reply;
  std::thread client([&] { reply = Post(emu->port(), kRiePath, R"({"op":"sleep","ms":60000})"); });
  ASSERT_TRUE(log.WaitFor("START RequestId: "));
  emu->Stop();
  client.join();
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.Header("x-amzn-errortype"), "ServiceException");
}

}  // namespace
}  // namespace sparkify::lambda
