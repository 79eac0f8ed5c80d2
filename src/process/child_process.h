// ChildProcess (library sparkify_process): a child process for the emulator's workers and
// `sparkify up`'s children: stdin from /dev/null, stdout and stderr into one pipe, its own
// process group (killed as a whole), killed if our spawning thread dies, and a pidfd to wait
// on with poll().
//
// Spawn() must be called from a thread that outlives the child (the kernel's parent-death
// signal follows the thread that forked). A ChildProcess object is used by one thread at a
// time; KillGroup() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace sparkify::process {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name searched in env's PATH
  std::vector<std::string> env;   // "NAME=value"
  std::string directory;          // empty: inherit
};

struct ExitInfo {
  int wait_status = 0;
  int64_t max_rss_kb = 0;  // from the kernel's rusage of the child
  // "exit status 3", "signal: aborted", like Lambda's Runtime.ExitError messages.
  std::string Describe() const;
};

class ChildProcess {
 public:
  // Errors: InvalidArgument (empty argv, program not found), IOError (pipe, fork, exec
  // failures, with errno's text).
  static Result<std::unique_ptr<ChildProcess>> Spawn(const SpawnSpec& spec);
  // Kills the process group and reaps the child if that has not happened yet.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int exit_fd() const { return pidfd_; }     // readable once the child has exited
  int output_fd() const { return output_; }  // non-blocking read end of stdout+stderr
  void KillGroup(int signal) const;
  // The child's exit, once it has exited (reaps it); nullopt while it still runs.
  std::optional<ExitInfo> TryReap();
  // Peak resident set (VmHWM) in kB while the child runs; 0 when unknown.
  int64_t PeakRssKb() const;

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int output_ = -1;
  bool reaped_ = false;
};

}  // namespace sparkify::process
