// The emulator's life cycle, its queue, and how invocations finish.
#include <sys/eventfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <cstdio>

#include "common/crypto.h"
#include "lambda/internal/emulator_impl.h"
#include "lambda/internal/log_sink.h"

namespace sparkify::lambda {
namespace internal {

std::string NewRequestId() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

namespace {


bool ValidFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void AppendTail(std::string& log, std::string_view line) {
  log.append(line);
  log.push_back('\n');
  if (log.size() > kLogTailBytes) log.erase(0, log.size() - kLogTailBytes);
}

}  // namespace
}  // namespace internal

using internal::AppendTail;
using internal::Invocation;
using internal::Worker;

Emulator::Impl::Impl(EmulatorOptions options) : options_(std::move(options)) {
  sink_ = options_.log ? options_.log : internal::WriteStderrLine;
}

Emulator::Impl::~Impl() { Stop(); }

Status Emulator::Impl::Start() {
  if (options_.worker_command.empty() || options_.worker_command[0].empty()) {
    return Status::InvalidArgument("the emulator needs a worker command");
  }
  if (options_.workers < 1 || options_.workers > 64) {
    return Status::InvalidArgument("workers must be between 1 and 64");
  }
  if (!internal::ValidFunctionName(options_.function_name)) {
    return Status::InvalidArgument("function name must be 1-64 letters, digits, - or _");
  }
  if (options_.timeout.count() <= 0 || options_.init_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  // The private directory of the workers' sockets: mkdtemp makes it 0700, so only this user
  // may enter it. Its path plus "/worker-63-<generation>.sock" must fit a sun_path.
  std::string pattern = options_.runtime_socket_parent + "/sparkify-runtime-XXXXXX";
  if (pattern.size() + 40 >= sizeof(sockaddr_un{}.sun_path)) {
    return Status::InvalidArgument("runtime socket directory path too long (Unix sockets take "
                                   "at most 107 bytes): " + options_.runtime_socket_parent);
  }
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot make a private directory in " +
                           options_.runtime_socket_parent + ": " + std::strerror(errno));
  }
  runtime_dir_ = pattern;

  http::ServerOptions server_options;
  server_options.host = options_.host;
  server_options.port = options_.port;
  server_options.max_connections = 4 * options_.max_connections;
  server_options.max_active_requests = options_.max_connections;
  server_options.header_timeout = options_.header_timeout;
  server_options.idle_timeout = options_.idle_timeout;
  // A synchronous invoke holds its connection while it waits and runs.
  server_options.io_timeout =
      options_.max_queue_wait + options_.init_timeout + options_.timeout + std::chrono::seconds(60);
  server_options.server_name = "sparkify-lambda";
  server_options.render_error = internal::RenderServerError;
  auto server =
      http::Server::Start(server_options, [this](http::Request& req) { return HandleInvoke(req); });
  if (!server.ok()) {
    Stop();
    return server.status();
  }
  invoke_server_ = std::move(*server);

  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>(i);
    w->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0) {
      Stop();
      return Status::IOError("eventfd failed");
    }
    w->restart_wanted = options_.start_workers_eagerly;
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] { Supervise(*raw); });
  }
  return Status::OK();
}

void Emulator::Impl::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& inv : queue_) {
        inv->phase = Invocation::Phase::kDone;
        inv->aborted = true;
      }
      queue_.clear();
    }
    next_cv_.notify_all();
    done_cv_.notify_all();
    supervise_cv_.notify_all();
    for (auto& w : workers_) Wake(*w);
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
    // Let the clients that were waiting get their answers before the connections close.
    bool answered = false;
    {
      std::unique_lock lock(mu_);
      answered = active_invokes_ > 0;
      idle_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return active_invokes_ == 0; });
    }
    if (answered) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // writes
    if (invoke_server_) invoke_server_->Stop();
    for (auto& w : workers_) {
      if (w->wake_fd >= 0) ::close(w->wake_fd);
      w->wake_fd = -1;
    }
    // Each worker's server removed its socket when it stopped: the directory is empty.
    if (!runtime_dir_.empty()) ::rmdir(runtime_dir_.c_str());
  });
}

Emulator::Stats Emulator::Impl::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Emulator::Impl::LogLine(std::string_view line) {
  std::lock_guard lock(sink_mu_);
  try {
    sink_(line);
  } catch (...) {
    // A failing log sink must not take an invocation down with it.
  }
}

std::shared_ptr<Invocation> Emulator::Impl::TakeNext(Worker& w) {
  if (queue_.empty()) return nullptr;
  std::shared_ptr<Invocation> inv = std::move(queue_.front());
  queue_.pop_front();
  inv->phase = Invocation::Phase::kRunning;
  inv->started = std::chrono::steady_clock::now();
  inv->deadline = inv->started + options_.timeout;
  inv->wall_deadline = options_.clock->Now() + options_.timeout;
  w.current = inv;
  w.state = Worker::State::kBusy;
  w.timed_out = false;
  std::string start = "START RequestId: " + inv->request_id + " Version: $LATEST";
  {
    std::lock_guard log_lock(w.log_mu);
    DrainOutput(w);  // lines written before this invocation are not its own
    w.log_target = inv;
    AppendTail(inv->log, start);
    LogLine(start);
  }
  done_cv_.notify_all();  // a client waiting in the queue may now wait for the result
  return inv;
}

void Emulator::Impl::Complete(Worker& w, Finish finish) {
  std::shared_ptr<Invocation> inv = std::move(w.current);
  w.current = nullptr;
  if (!inv) return;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - inv->started)
          .count();
  int64_t rss_kb = finish.rss_kb;
  if (rss_kb == 0 && w.child) rss_kb = w.child->PeakRssKb();
  char report[512];
  std::snprintf(report, sizeof report,
                "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\t"
                "Memory Size: %d MB\tMax Memory Used: %lld MB",
                inv->request_id.c_str(), ms, static_cast<long long>(std::ceil(ms)),
                options_.memory_size_mb, static_cast<long long>((rss_kb + 1023) / 1024));
  std::string report_line = report;
  if (w.init_duration_ms) {
    std::snprintf(report, sizeof report, "\tInit Duration: %.2f ms", *w.init_duration_ms);
    report_line += report;
    w.init_duration_ms.reset();
  }
  if (!finish.platform_status.empty()) {
    report_line += "\tStatus: " + finish.platform_status;
    if (finish.platform_status == "error") report_line += "\tError Type: " + finish.error_type;
  }
  {
    std::lock_guard log_lock(w.log_mu);
    DrainOutput(w);
    if (!w.partial_line.empty()) {
      std::string partial = std::move(w.partial_line);
      w.partial_line.clear();
      EmitWorkerLine(w, partial);
    }
    std::string end = "END RequestId: " + inv->request_id;
    AppendTail(inv->log, end);
    LogLine(end);
    AppendTail(inv->log, report_line);
    LogLine(report_line);
    w.log_target = nullptr;
  }
  inv->is_error = finish.is_error;
  inv->result = std::move(finish.result);
  inv->error_type = std::move(finish.error_type);
  inv->aborted = inv->aborted || (stopping_ && !finish.platform_status.empty());
  inv->phase = Invocation::Phase::kDone;
  ++stats_.invocations;
  done_cv_.notify_all();
}

void Emulator::Impl::FailHeadOfQueue(Worker& w, const FunctionError& error, bool prefix_request_id,
                                     int64_t rss_kb) {
  if (queue_.empty() || stopping_) return;
  std::string init_log;
  {
    std::lock_guard log_lock(w.log_mu);
    init_log = w.init_log;
  }
  std::shared_ptr<Invocation> inv = TakeNext(w);
  {
    std::lock_guard log_lock(w.log_mu);
    inv->log = init_log + inv->log;  // the start-up output explains the failure
    if (inv->log.size() > internal::kLogTailBytes) {
      inv->log.erase(0, inv->log.size() - internal::kLogTailBytes);
    }
  }
  std::string message = error.message;
  if (prefix_request_id) message = "RequestId: " + inv->request_id + " Error: " + message;
  Finish f;
  f.is_error = true;
  f.result = FunctionErrorJson(error.error_type, message);
  f.error_type = error.error_type;
  f.platform_status = "error";
  f.rss_kb = rss_kb;
  Complete(w, std::move(f));
}

void Emulator::Impl::Wake(Worker& w) {
  if (w.wake_fd < 0) return;
  uint64_t one = 1;
  (void)!::write(w.wake_fd, &one, sizeof one);
}

// ---------------------------------------------------------------------------------------------

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Emulator::~Emulator() { Stop(); }

Result<std::unique_ptr<Emulator>> Emulator::Start(EmulatorOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

uint16_t Emulator::port() const { return impl_->port(); }
void Emulator::Stop() { impl_->Stop(); }
Emulator::Stats Emulator::stats() const { return impl_->stats(); }

}  // namespace sparkify::lambda
