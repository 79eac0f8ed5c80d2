// The emulator's insides (internal), shared by its parts:
//   emulator.cpp     Start/Stop, the queue, completing invocations, START/END/REPORT lines
//   invoke_api.cpp   the Invoke API (clients): routing, limits, invocation types, answers
//   invoke_auth.cpp  SigV4 and lambda:InvokeFunction policies for the Invoke API
//   runtime_api.cpp  the Runtime API (the worker): /next, /response, /error, /init/error
//   worker.cpp       worker supervision: spawn, output capture, deadlines, crash handling
//
// Locking: Impl::mu_ guards the queue, every Worker's state and every Invocation's progress.
// A Worker's log_mu guards its output parsing and the log tails; it may be taken while
// holding mu_, never the other way round.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"
#include "lambda/emulator.h"
#include "lambda/function_error.h"
#include "lambda/internal/invoke_errors.h"
#include "process/child_process.h"

namespace sparkify::lambda {
namespace internal {

using SteadyTime = std::chrono::steady_clock::time_point;

inline constexpr size_t kLogTailBytes = 4096;

struct Invocation {
  std::string request_id;
  std::string payload;
  std::string function_arn;
  std::string client_context;  // decoded JSON text, may be empty
  std::string trace_id;
  bool async = false;
  SteadyTime enqueued;

  // Guarded by Impl::mu_.
  enum class Phase { kQueued, kRunning, kDone } phase = Phase::kQueued;
  SteadyTime started;
  SteadyTime deadline;
  TimePoint wall_deadline;
  bool is_error = false;  // result holds an error document
  bool aborted = false;   // the emulator stopped before it ran: ServiceException
  std::string result;     // the function's response, or the error document
  std::string error_type;

  // Guarded by the running Worker's log_mu: the invocation's log, last kLogTailBytes.
  std::string log;
};

struct Worker {
  explicit Worker(int i) : index(i) {}
  const int index;

  // Guarded by Impl::mu_.
  enum class State { kDown, kStarting, kIdle, kBusy } state = State::kDown;
  uint64_t generation = 0;  // bumped at every spawn and death: stale requests see a change
  bool restart_wanted = false;
  bool initialised = false;  // reached /next in this generation
  SteadyTime spawned;
  std::optional<double> init_duration_ms;   // reported once, by the first REPORT
  std::optional<FunctionError> init_error;  // posted to /runtime/init/error
  std::optional<SteadyTime> init_error_at;
  bool timed_out = false;  // killed because a deadline passed
  std::shared_ptr<Invocation> current;
  std::shared_ptr<process::ChildProcess> child;  // set while a process runs

  // Guarded by log_mu.
  std::mutex log_mu;
  std::shared_ptr<Invocation> log_target;  // where output lines go, besides the sink
  std::string partial_line;
  std::string init_log;  // output before the first /next (tail), for init failures
  int output_fd = -1;

  // The supervisor thread's own.
  std::thread thread;
  int wake_fd = -1;  // eventfd: recompute deadlines, or stop
};

}  // namespace internal

class Emulator::Impl {
 public:
  using Invocation = internal::Invocation;
  using Worker = internal::Worker;

  explicit Impl(EmulatorOptions options);
  ~Impl();
  Status Start();
  void Stop();
  uint16_t port() const { return invoke_server_ ? invoke_server_->port() : 0; }
  Stats stats() const;

  // invoke_api.cpp
  http::Response HandleInvoke(http::Request& req);

  // runtime_api.cpp: requests of the worker process of `generation`.
  http::Response HandleRuntime(Worker& w, uint64_t generation, http::Request& req);

  // worker.cpp: the supervisor thread of `w`.
  void Supervise(Worker& w);

 private:
  // runtime_api.cpp, one per route: GET /runtime/invocation/next (waits for work), POST
  // /runtime/init/error, POST /runtime/invocation/{id}/response or /error.
  http::Response RuntimeNext(Worker& w, uint64_t generation);
  http::Response RuntimeInitError(Worker& w, uint64_t generation, http::Request& req);
  http::Response RuntimeAnswer(Worker& w, uint64_t generation, http::Request& req,
                               const std::string& id, bool is_response);
  // invoke_api.cpp: HandleInvoke without the in-flight accounting.
  http::Response Invoke(http::Request& req, const std::string& request_id);
  // Queues a checked invocation; for RequestResponse waits for it and renders the answer.
  http::Response Enqueue(std::shared_ptr<Invocation> inv, bool tail);

  // Queueing (emulator.cpp). REQUIRES: mu_ held.
  // Takes the next queued invocation for `w` (now running there), or null.
  std::shared_ptr<Invocation> TakeNext(Worker& w);
  // How an invocation ended.
  struct Finish {
    bool is_error = false;
    std::string result;  // the response, or the error document
    std::string error_type;
    std::string platform_status;  // REPORT's Status: "" (the function answered), "timeout",
                                  // "error" (crash, init failure)
    int64_t rss_kb = 0;           // peak memory when the child is gone; 0: ask the child
  };
  // Finishes w.current: drains the worker's output into its log, writes END and REPORT,
  // wakes the waiting client.
  void Complete(Worker& w, Finish finish);
  // Fails the head of the queue (if any) on behalf of `w`, whose start-up failed; with
  // `prefix_request_id` the message becomes "RequestId: ID Error: message".
  void FailHeadOfQueue(Worker& w, const FunctionError& error, bool prefix_request_id,
                       int64_t rss_kb);
  void LogLine(std::string_view line);  // to the sink; under mu_ or log_mu only

  // Output capture (worker.cpp). REQUIRES: w.log_mu held.
  void DrainOutput(Worker& w);
  void OnOutput(Worker& w, std::string_view chunk);
  void EmitWorkerLine(Worker& w, std::string_view line);

  // worker.cpp: one life of a worker process: start, watch, post-mortem.
  void RunWorkerOnce(Worker& w);
  // Why the supervisor killed the process, if it did.
  enum class KillReason { kNone, kTimeout, kInitTimeout, kInitErrorLinger, kStop };
  // A new generation of `w`, starting, with its state and logs cleared.
  uint64_t ResetForStart(Worker& w);
  // The process could not be started: the head of the queue gets `error`.
  void FailStart(Worker& w, const FunctionError& error);
  // The Runtime API server of one process, on a Unix socket in the private directory.
  Result<std::unique_ptr<http::Server>> StartRuntimeServer(Worker& w, uint64_t generation,
                                                           std::string* socket_path);
  // When the process must be killed (init, invocation or linger deadline, or the emulator
  // stopping) and why; nullopt: no deadline. REQUIRES: mu_ held.
  std::optional<internal::SteadyTime> NextDeadline(const Worker& w, KillReason* why) const;
  // Reads what the process wrote (non-blocking) into its log; *open false at EOF.
  void ReadOutput(Worker& w, int fd, bool* open);
  // Polls the process until it exits, killing it at its deadline; returns why it was killed.
  KillReason Watch(Worker& w, process::ChildProcess& child);
  // The answers a dead process owes: its invocation's error, or the init error for the head
  // of the queue. REQUIRES: mu_ held.
  void AnswerForDeath(Worker& w, const process::ExitInfo& exit, KillReason reason);
  // Reaps the process, answers for it, logs its exit and marks `w` down.
  void AfterExit(Worker& w, process::ChildProcess& child, KillReason reason);
  std::vector<std::string> WorkerEnvironment(const std::string& runtime_api) const;
  void Wake(Worker& w);

  EmulatorOptions options_;
  std::atomic<uint64_t> refusals_logged_{0};  // invokes refused (invoke_api.cpp)
  std::function<void(std::string_view)> sink_;
  std::mutex sink_mu_;  // taken last: after mu_ and any log_mu
  mutable std::mutex mu_;
  std::condition_variable next_cv_;       // /next waiters: queue, generation, stopping
  std::condition_variable done_cv_;       // clients: an invocation finished or started
  std::condition_variable supervise_cv_;  // down workers: restart wanted or queue non-empty
  std::deque<std::shared_ptr<Invocation>> queue_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopping_ = false;
  int active_invokes_ = 0;           // Invoke API handlers running; Stop() lets them answer
  std::condition_variable idle_cv_;  // active_invokes_ dropped to zero
  Stats stats_;
  std::unique_ptr<http::Server> invoke_server_;
  std::string runtime_dir_;  // private (0700): the workers' Runtime API sockets
  std::once_flag stop_once_;
};

namespace internal {

// invoke_auth.cpp: checks the SigV4 signature (if any) and the caller's right to
// lambda:InvokeFunction on `function_arn`. nullopt: allowed.
struct InvokeDenial {
  InvokeError error;
  std::string message;
};
std::optional<InvokeDenial> AuthorizeInvoke(const http::Request& req, std::string_view body,
                                            const EmulatorOptions& options,
                                            const std::string& function_arn);

// A random UUID (version 4), the shape of Lambda request ids.
std::string NewRequestId();

}  // namespace internal
}  // namespace sparkify::lambda
