#include "process/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

namespace sparkify::process {
namespace {

std::string ErrnoText(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// argv[0] as a path, or looked up in the PATH of the child's environment.
std::optional<std::string> ResolveProgram(const SpawnSpec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : spec.env) {
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Everything between fork and exec: async-signal-safe calls only. Never returns.
[[noreturn]] void ExecChild(const char* program, char* const* argv, char* const* envp,
                            const char* directory, int devnull, int output, int error_pipe,
                            pid_t parent, int max_fd) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    ::sigaction(sig, &dfl, nullptr);
  }
  if (::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 ||
      ::dup2(output, STDERR_FILENO) < 0) {
    int err = errno;
    (void)!::write(error_pipe, &err, sizeof err);
    ::_exit(127);
  }
  // Nothing else of ours (listening sockets, other pipes) may leak into the worker.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // kernels < 5.11
  }
  if (directory != nullptr && ::chdir(directory) != 0) {
    int err = errno;
    (void)!::write(error_pipe, &err, sizeof err);
    ::_exit(127);
  }
  ::execve(program, argv, envp);
  int err = errno;
  (void)!::write(error_pipe, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

std::string ExitInfo::Describe() const {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* text = ::sigdescr_np(sig);
    std::string desc = text != nullptr ? text : "signal " + std::to_string(sig);
    if (!desc.empty())
      desc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(desc[0])));
    return "signal: " + desc;
  }
  return "unknown exit";
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::InvalidArgument("the worker command is empty");
  }
  auto program = ResolveProgram(spec);
  if (!program) return Status::InvalidArgument(spec.argv[0] + ": not found in PATH");

  // Everything the child needs, built before fork.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int out[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return Status::IOError(ErrnoText("open /dev/null", errno));
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    for (int fd : {out[0], out[1], err_pipe[0], err_pipe[1], devnull}) {
      if (fd >= 0) ::close(fd);
    }
    return Status::IOError(ErrnoText("pipe", e));
  }
  pid_t parent = ::getpid();
  struct rlimit files {};
  int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536
                   ? static_cast<int>(files.rlim_cur)
                   : 65536;
  pid_t pid = ::fork();
  if (pid == 0) {
    ExecChild(program->c_str(), argv.data(), envp.data(),
              spec.directory.empty() ? nullptr : spec.directory.c_str(), devnull, out[1],
              err_pipe[1], parent, max_fd);
  }
  int fork_errno = errno;
  ::close(devnull);
  ::close(out[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err_pipe[0]);
    return Status::IOError(ErrnoText("fork", fork_errno));
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->output_ = out[0];
  // The child's own setpgid may not have run yet; doing it here too closes that race.
  ::setpgid(pid, pid);

  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    child->reaped_ = true;
    return Status::IOError(ErrnoText("cannot start " + *program, exec_errno));
  }
  ::fcntl(child->output_, F_SETFL, ::fcntl(child->output_, F_GETFL) | O_NONBLOCK);
  child->pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (child->pidfd_ < 0) return Status::IOError(ErrnoText("pidfd_open", errno));
  return child;
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    KillGroup(SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  CloseFd(pidfd_);
  CloseFd(output_);
}

void ChildProcess::KillGroup(int signal) const {
  // Until reaped the pid cannot be reused, and it names the group the child leads.
  if (!reaped_ && pid_ > 0) {
    ::kill(-pid_, signal);
    ::kill(pid_, signal);  // in case setpgid had not happened yet
  }
}

std::optional<ExitInfo> ChildProcess::TryReap() {
  if (reaped_) return std::nullopt;
  int status = 0;
  struct rusage usage {};
  pid_t r;
  do {
    r = ::wait4(pid_, &status, WNOHANG, &usage);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  reaped_ = true;
  ExitInfo info;
  if (r < 0) {                  // someone else reaped it (SIGCHLD ignored, say): status unknown
    info.wait_status = 0xff00;  // "exit status 255"
    return info;
  }
  info.wait_status = status;
  info.max_rss_kb = usage.ru_maxrss;
  return info;
}

int64_t ChildProcess::PeakRssKb() const {
  if (reaped_ || pid_ <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) {
      try {
        return std::stoll(line.substr(6));
      } catch (...) {
        return 0;
      }
    }
  }
  return 0;
}

}  // namespace sparkify::process
