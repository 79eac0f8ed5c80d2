// A local AWS Lambda: the Invoke API for clients, the Runtime API for a worker process.
//
// The emulator serves, on one loopback HTTP server (http::Server),
//   POST /2015-03-31/functions/function/invocations            (the Runtime Interface
//                                                                Emulator's path)
//   POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=$LATEST]
// and runs the function as a child process (EmulatorOptions::worker_command) that talks to
// a private Runtime API server (another http::Server on an ephemeral loopback port, named
// to the child by AWS_LAMBDA_RUNTIME_API), so the worker runs exactly the code path of real
// Lambda (runtime.h). Like Lambda, and unlike the RIE:
//   - function errors answer 200 with the error document and X-Amz-Function-Error:
//     Unhandled; X-Amz-Executed-Version: $LATEST; X-Amzn-RequestId;
//   - X-Amz-Invocation-Type: Event -> 202 (queued, run in the background), DryRun -> 204
//     (after the auth and permission checks); X-Amz-Log-Type: Tail -> X-Amz-Log-Result, the
//     base64 of the last 4 KB of the invocation's log (START, the worker's lines, END, REPORT);
//   - a timeout kills and restarts the worker and answers Sandbox.Timedout; a worker that
//     exits or is killed mid-invocation answers Runtime.ExitError (with the exit status or
//     signal) and is restarted; a worker whose init fails (/runtime/init/error, or an exit
//     before its first /next) answers the waiting invocation with that error and is started
//     again on the next invoke; the endpoint itself never goes down;
//   - one invocation at a time per worker; invocations wait in a bounded FIFO queue
//     (TooManyRequestsException 429 beyond it);
//   - payload limits (RequestTooLargeException 413), unknown names (ResourceNotFoundException
//     404), and SigV4 (service "lambda") with IAM policies (lambda:InvokeFunction) against
//     the store's IdentityStore; unsigned invokes only from loopback, if at all;
//   - START / END / REPORT log lines (duration, billed duration, memory size, max memory
//     used from the child's VmHWM), with the worker's stdout and stderr, to the log sink.
//
// Thread-safety: Emulator is thread-safe; Start() returns a running emulator and Stop()
// (or the destructor) stops it, killing the workers and joining every thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sparkify::iam {
class IdentityStore;
}

namespace sparkify::lambda {

inline constexpr size_t kMaxSyncPayloadBytes = 6291456;   // 6 MiB, RequestResponse
inline constexpr size_t kMaxAsyncPayloadBytes = 1048576;  // 1 MiB, Event

struct EmulatorOptions {
  // --- The Invoke API server.
  std::string host = "127.0.0.1";  // Default: loopback only.
  uint16_t port = 0;               // 0: any free port (see Emulator::port()).
  // Requests handled at once (each synchronous invoke holds one while it waits and runs);
  // open connections may be 4 times as many, waiting ones cost no thread.
  int max_connections = 256;
  // The request head must arrive within this of its first byte. Default 10 s. The body
  // and response time limit is derived: max_queue_wait + init_timeout + timeout + 60 s,
  // since a synchronous invoke holds its connection for that long at most.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // How long a keep-alive connection may wait for its next request. Default 60 s.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};

  // --- The function.
  // Its name; the path name "function" (the RIE's) is always accepted as well, and so are
  // full and partial ARNs of this name in `region` and account 000000000000.
  std::string function_name = "function";
  std::string region = "us-east-1";
  // REQUIRED: the worker's argv. argv[0] is a path, or a name looked up in the PATH of
  // worker_environment. E.g. {"/proc/self/exe", "function"} with main's own binary.
  std::vector<std::string> worker_command;
  // The worker's whole environment, "NAME=value" each (the library reads none of its own).
  // The emulator always sets AWS_LAMBDA_RUNTIME_API, and sets AWS_LAMBDA_FUNCTION_NAME,
  // AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION,
  // AWS_DEFAULT_REGION, AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME and
  // AWS_LAMBDA_INITIALIZATION_TYPE unless given here.
  std::vector<std::string> worker_environment;
  std::string worker_directory;       // the worker's working directory; empty: ours
  int workers = 1;                    // concurrent workers (each one invocation at a time)
  bool start_workers_eagerly = true;  // start them at Start(), not at the first invoke
  // Invocation time limit, from the moment the worker takes the event. Default: 300 s.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  // From process start to the first /next. Default: 120 s.
  std::chrono::milliseconds init_timeout{std::chrono::seconds(120)};
  int memory_size_mb = 3008;  // what REPORT and AWS_LAMBDA_FUNCTION_MEMORY_SIZE say
  // Each worker reaches its Runtime API over a Unix socket in a private directory (mode
  // 0700) made inside this one at Start() and removed by Stop(): no other user and no web
  // page can take or answer invocations (there is no TCP port for it). The worker's
  // AWS_LAMBDA_RUNTIME_API is "unix:<path>". Default: /tmp (main passes $TMPDIR).
  std::string runtime_socket_parent = "/tmp";

  // --- Queueing and limits.
  size_t max_queued = 64;  // invocations waiting for a worker (both kinds); beyond: 429
  // A synchronous invoke still waiting for a worker after this is answered 429.
  // Default: 300 s.
  std::chrono::milliseconds max_queue_wait{std::chrono::seconds(300)};
  size_t max_request_bytes = kMaxSyncPayloadBytes;
  size_t max_async_request_bytes = kMaxAsyncPayloadBytes;
  size_t max_response_bytes = 6291556;  // from the worker (Function.ResponseSizeTooLarge)
  // Payloads must be JSON text (or empty), as Lambda requires. Default: true.
  bool require_json_payload = true;

  // --- Authentication and authorisation.
  // Keys and identity policies (the store's). Not owned; must outlive the emulator. Null:
  // no keys at all, so every signed invoke is refused (UnrecognizedClientException).
  iam::IdentityStore* identities = nullptr;
  // Unsigned invokes are accepted only from a loopback address, and only when this is set.
  bool allow_unsigned_loopback = true;
  // Unsigned invokes from any address. For a container whose published port is the only way
  // in (`docker run -p 9000:8080`: the peer is the bridge's gateway, not loopback), as the
  // Runtime Interface Emulator behaves. Never on a host's reachable address. Default: false.
  bool allow_unsigned_remote = false;
  const Clock* clock = &Clock::System();  // for SigV4 and policy conditions

  // --- Logs: every worker output line and the START/END/REPORT lines, one call per line
  // (without the newline), from several threads, never concurrently. Default: stderr.
  std::function<void(std::string_view line)> log;
};

class Emulator {
 public:
  // Validates the options, starts the Invoke API server and (if start_workers_eagerly) the
  // workers. Errors: InvalidArgument (no worker_command, workers < 1, ...), Unavailable
  // (address in use). A worker that cannot be started is not a Start() error: invocations
  // get Runtime.InvalidEntrypoint instead, as on Lambda.
  static Result<std::unique_ptr<Emulator>> Start(EmulatorOptions options);
  ~Emulator();

  uint16_t port() const;
  // Stops accepting, answers queued invocations with ServiceException, kills the workers and
  // joins every thread. Idempotent.
  void Stop();

  struct Stats {
    uint64_t invocations = 0;    // completed, any outcome
    uint64_t worker_starts = 0;  // processes spawned, all workers together
  };
  Stats stats() const;

  class Impl;

 private:
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparkify::lambda
