// Worker supervision: one thread per worker spawns the process (with its own Runtime API
// server), captures its output, enforces deadlines by killing it, and turns its death into
// answers for whoever was waiting.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>

#include "lambda/internal/emulator_impl.h"

namespace sparkify::lambda {

using internal::Invocation;
using internal::SteadyTime;
using internal::Worker;

namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
// After /runtime/init/error the process is expected to exit; it is killed after this.
constexpr auto kInitErrorGrace = std::chrono::seconds(2);

void AppendTail(std::string& log, std::string_view line) {
  log.append(line);
  log.push_back('\n');
  if (log.size() > internal::kLogTailBytes) log.erase(0, log.size() - internal::kLogTailBytes);
}

bool HasVariable(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e.starts_with(name) && e[name.size()] == '=') return true;
  }
  return false;
}

std::string Seconds(std::chrono::milliseconds d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

std::vector<std::string> Emulator::Impl::WorkerEnvironment(const std::string& runtime_api) const {
  std::vector<std::string> env;
  for (const auto& e : options_.worker_environment) {
    if (!e.starts_with("AWS_LAMBDA_RUNTIME_API=")) env.push_back(e);
  }
  env.push_back("AWS_LAMBDA_RUNTIME_API=" + runtime_api);
  const std::string& name = options_.function_name;
  std::pair<const char*, std::string> defaults[] = {
      {"AWS_LAMBDA_FUNCTION_NAME", name},
      {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(options_.memory_size_mb)},
      {"AWS_REGION", options_.region},
      {"AWS_DEFAULT_REGION", options_.region},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + name},
      {"AWS_LAMBDA_LOG_STREAM_NAME", "$LATEST"},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
  };
  for (const auto& [key, value] : defaults) {
    if (!HasVariable(env, key)) env.push_back(std::string(key) + "=" + value);
  }
  return env;
}

void Emulator::Impl::Supervise(Worker& w) {
  std::unique_lock lock(mu_);
  for (;;) {
    supervise_cv_.wait(lock, [&] {
      if (stopping_ || w.restart_wanted) return true;
      // Start only when the queue holds more than the live workers will take.
      size_t ready = 0;
      for (const auto& other : workers_) {
        if (other->state == Worker::State::kIdle || other->state == Worker::State::kStarting) {
          ++ready;
        }
      }
      return queue_.size() > ready;
    });
    if (stopping_) return;
    w.restart_wanted = false;
    lock.unlock();
    RunWorkerOnce(w);
    lock.lock();
  }
}

void Emulator::Impl::RunWorkerOnce(Worker& w) {
  const uint64_t generation = ResetForStart(w);
  std::string socket_path;
  auto server = StartRuntimeServer(w, generation, &socket_path);
  if (!server.ok()) {
    FailStart(w, {"Runtime.Unknown", "cannot start the Runtime API: " + server.status().message()});
    return;
  }
  process::SpawnSpec spec{options_.worker_command, WorkerEnvironment("unix:" + socket_path),
                          options_.worker_directory};
  auto spawned = process::ChildProcess::Spawn(spec);
  if (!spawned.ok()) {
    FailStart(w, {"Runtime.InvalidEntrypoint", spawned.status().message()});
    (*server)->Stop();
    return;
  }
  std::shared_ptr<process::ChildProcess> child(std::move(*spawned));
  {
    std::lock_guard lock(mu_);
    w.child = child;
    w.spawned = std::chrono::steady_clock::now();
    ++stats_.worker_starts;
    std::lock_guard log_lock(w.log_mu);
    w.output_fd = child->output_fd();
  }
  const KillReason reason = Watch(w, *child);
  // The process is gone (its group goes too: grandchildren could hold the pipe open).
  child->KillGroup(SIGKILL);
  AfterExit(w, *child, reason);
  (*server)->Stop();
}

uint64_t Emulator::Impl::ResetForStart(Worker& w) {
  std::lock_guard lock(mu_);
  const uint64_t generation = ++w.generation;
  w.state = Worker::State::kStarting;
  w.initialised = false;
  w.init_error.reset();
  w.init_error_at.reset();
  w.init_duration_ms.reset();
  w.timed_out = false;
  std::lock_guard log_lock(w.log_mu);
  w.partial_line.clear();
  w.init_log.clear();
  w.log_target = nullptr;
  return generation;
}

void Emulator::Impl::FailStart(Worker& w, const FunctionError& error) {
  std::lock_guard lock(mu_);
  LogLine("EMULATOR worker " + std::to_string(w.index) + " cannot start: " + error.message);
  FailHeadOfQueue(w, error, true, 0);
  w.state = Worker::State::kDown;
  ++w.generation;
  next_cv_.notify_all();
}

Result<std::unique_ptr<http::Server>> Emulator::Impl::StartRuntimeServer(Worker& w,
                                                                         uint64_t generation,
                                                                         std::string* socket_path) {
  // A Runtime API server per process: requests of a dead process can never reach the next.
  // It listens on a Unix socket in the emulator's private directory, which only this user
  // may enter: no other local user, and no web page, can take or answer an invocation.
  http::ServerOptions server_options;
  server_options.unix_socket_path = runtime_dir_ + "/worker-" + std::to_string(w.index) + "-" +
                                    std::to_string(generation) + ".sock";
  server_options.max_connections = 16;
  server_options.max_active_requests = 16;
  // /next waits as long as there is no work; only our own child can connect.
  server_options.header_timeout = std::chrono::hours(24 * 365);
  server_options.idle_timeout = std::chrono::hours(24 * 365);
  server_options.io_timeout = std::chrono::hours(24 * 365);
  server_options.server_name = "sparkify-lambda-runtime";
  *socket_path = server_options.unix_socket_path;
  return http::Server::Start(server_options, [this, &w, generation](http::Request& req) {
    return HandleRuntime(w, generation, req);
  });
}

std::optional<SteadyTime> Emulator::Impl::NextDeadline(const Worker& w, KillReason* why) const {
  if (stopping_) {
    *why = KillReason::kStop;
    return std::chrono::steady_clock::now();
  }
  if (w.init_error_at) {
    *why = KillReason::kInitErrorLinger;
    return *w.init_error_at + kInitErrorGrace;
  }
  if (w.state == Worker::State::kStarting) {
    *why = KillReason::kInitTimeout;
    return w.spawned + options_.init_timeout;
  }
  if (w.state == Worker::State::kBusy && w.current) {
    *why = KillReason::kTimeout;
    return w.current->deadline;
  }
  *why = KillReason::kNone;
  return std::nullopt;
}

void Emulator::Impl::ReadOutput(Worker& w, int fd, bool* open) {
  std::lock_guard log_lock(w.log_mu);
  char buf[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      OnOutput(w, std::string_view(buf, static_cast<size_t>(got)));
      continue;
    }
    if (got == 0 || (errno != EAGAIN && errno != EINTR)) *open = false;
    if (got < 0 && errno == EINTR) continue;
    break;
  }
}

Emulator::Impl::KillReason Emulator::Impl::Watch(Worker& w, process::ChildProcess& child) {
  KillReason reason = KillReason::kNone;
  bool output_open = true;
  for (;;) {
    int timeout_ms = -1;
    {
      std::lock_guard lock(mu_);
      KillReason why = KillReason::kNone;
      std::optional<SteadyTime> deadline = NextDeadline(w, &why);
      auto now = std::chrono::steady_clock::now();
      if (deadline && now >= *deadline) {
        if (reason == KillReason::kNone) reason = why;
        w.timed_out = why == KillReason::kTimeout;
      } else if (deadline) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
        timeout_ms = static_cast<int>(std::min<int64_t>(left, INT_MAX));
      }
    }
    if (reason != KillReason::kNone) child.KillGroup(SIGKILL);
    pollfd fds[3] = {{child.exit_fd(), POLLIN, 0},
                     {w.wake_fd, POLLIN, 0},
                     {output_open ? child.output_fd() : -1, POLLIN, 0}};
    int n = ::poll(fds, 3, timeout_ms);
    if (n < 0 && errno != EINTR) {
      reason = KillReason::kStop;  // cannot watch it any more: end it
      continue;
    }
    if (fds[1].revents & POLLIN) {
      uint64_t ignored;
      (void)!::read(w.wake_fd, &ignored, sizeof ignored);
    }
    if (fds[2].revents != 0) ReadOutput(w, child.output_fd(), &output_open);
    if (fds[0].revents != 0) return reason;
  }
}

void Emulator::Impl::AnswerForDeath(Worker& w, const process::ExitInfo& exit, KillReason reason) {
  const std::string why = exit.Describe();
  if (w.current != nullptr) {
    Finish f;
    f.is_error = true;
    f.rss_kb = exit.max_rss_kb;
    const std::string& id = w.current->request_id;
    if (w.timed_out) {
      f.error_type = "Sandbox.Timedout";
      f.platform_status = "timeout";
      f.result =
          FunctionErrorJson(f.error_type, "RequestId: " + id + " Error: Task timed out after " +
                                              Seconds(options_.timeout) + " seconds");
    } else {
      f.error_type = "Runtime.ExitError";
      f.platform_status = "error";
      f.result = FunctionErrorJson(
          f.error_type, "RequestId: " + id + " Error: Runtime exited with error: " + why);
    }
    Complete(w, std::move(f));
  } else if (!w.initialised) {
    FunctionError error;
    bool prefix = true;
    if (w.init_error) {
      error = *w.init_error;
      prefix = false;
    } else if (reason == KillReason::kInitTimeout) {
      error = {"Sandbox.Timedout",
               "Init timed out after " + Seconds(options_.init_timeout) + " seconds"};
    } else {
      error = {"Runtime.ExitError", "Runtime exited with error: " + why};
    }
    if (reason != KillReason::kStop) {
      LogLine("INIT_REPORT Phase: init\tStatus: error\tError Type: " + error.error_type);
      FailHeadOfQueue(w, error, prefix, exit.max_rss_kb);
    }
  } else {
    std::lock_guard log_lock(w.log_mu);
    DrainOutput(w);
  }
}

void Emulator::Impl::AfterExit(Worker& w, process::ChildProcess& child, KillReason reason) {
  process::ExitInfo exit = child.TryReap().value_or(process::ExitInfo{});
  std::lock_guard lock(mu_);
  const bool had_invocation = w.current != nullptr;
  AnswerForDeath(w, exit, reason);
  if (reason != KillReason::kStop && reason != KillReason::kInitErrorLinger) {
    LogLine("EMULATOR worker " + std::to_string(w.index) + " (pid " + std::to_string(child.pid()) +
            ") exited: " + exit.Describe());
  }
  // A worker that served and then died mid-invocation is replaced at once; one that never
  // got going (or died idle) only when work arrives, so a broken worker cannot spin.
  w.restart_wanted = had_invocation && w.initialised && !stopping_;
  w.state = Worker::State::kDown;
  w.child.reset();
  w.init_error.reset();
  w.init_error_at.reset();
  ++w.generation;
  {
    std::lock_guard log_lock(w.log_mu);
    w.output_fd = -1;
    w.log_target = nullptr;
  }
  next_cv_.notify_all();
}

void Emulator::Impl::DrainOutput(Worker& w) {
  if (w.output_fd < 0) return;
  char buf[64 * 1024];
  for (;;) {
    ssize_t got = ::read(w.output_fd, buf, sizeof buf);
    if (got > 0) {
      OnOutput(w, std::string_view(buf, static_cast<size_t>(got)));
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    return;
  }
}

void Emulator::Impl::OnOutput(Worker& w, std::string_view chunk) {
  w.partial_line.append(chunk);
  size_t start = 0;
  for (;;) {
    size_t nl = w.partial_line.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(w.partial_line.data() + start, nl - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    EmitWorkerLine(w, line);
    start = nl + 1;
  }
  w.partial_line.erase(0, start);
  if (w.partial_line.size() > kMaxLineBytes) {
    std::string long_line = std::move(w.partial_line);
    w.partial_line.clear();
    EmitWorkerLine(w, long_line);
  }
}

void Emulator::Impl::EmitWorkerLine(Worker& w, std::string_view line) {
  LogLine(line);
  if (w.log_target) {
    AppendTail(w.log_target->log, line);
  } else {
    AppendTail(w.init_log, line);
  }
}

}  // namespace sparkify::lambda
