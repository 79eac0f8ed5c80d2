// `sparkify up`'s process tree: the children (store, function, web), their output relayed
// line by line with a name prefix, readiness read from their "listening on" lines, and the
// stop: a child dying stops all, a stop signal (SIGINT/SIGTERM, which the caller has blocked)
// stops all cleanly. Used by one thread, the one that outlives the children.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "process/child_process.h"

namespace sparkify::cli {

class ChildTree {
 public:
  ChildTree();
  ~ChildTree();  // stops whatever still runs

  // Starts a child and waits until a line of its output contains `ready_marker`; returns that
  // line. Errors: the child cannot start, exits first (its last lines in the message), the
  // time runs out, or a stop signal arrives (Cancelled as Unavailable "interrupted").
  Result<std::string> StartAndWait(const std::string& name, process::SpawnSpec spec,
                                   const std::string& ready_marker, std::chrono::seconds limit);

  // Relays output until a stop signal (returns 0 after stopping everything, 1 if a child had
  // to be killed) or a child's exit (returns 1 after stopping the others, saying which child
  // stopped and why).
  int Supervise();

  // Stops the children one by one in reverse start order (each may use those started before
  // it while it stops): SIGTERM, then SIGKILL if it is still there after `grace`; reaps it,
  // relaying what it prints meanwhile. Returns the names of the children that had to be
  // killed.
  std::vector<std::string> StopAll(std::chrono::seconds grace = std::chrono::seconds(10));

 private:
  struct Child;
  // Reads what `c` has written so far (non-blocking), prints its complete lines with the
  // name prefix and keeps the last ones; returns those lines.
  std::vector<std::string> Relay(Child& c);
  // Polls children and the signal fd once; relays complete lines. Returns the index of an
  // exited child (-1 none), sets *signalled on a stop signal.
  int PollOnce(int timeout_ms, bool* signalled, const std::string* marker_child,
               const std::string* marker, std::string* marker_line);
  std::vector<std::unique_ptr<Child>> children_;
  int signal_fd_ = -1;
};

}  // namespace sparkify::cli
