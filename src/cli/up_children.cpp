#include "cli/up_children.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <deque>
#include <iostream>

namespace sparkify::cli {

struct ChildTree::Child {
  std::string name;
  std::unique_ptr<process::ChildProcess> process;
  std::string partial;           // output after the last newline
  std::deque<std::string> tail;  // the last lines, for the message when it dies
  bool exited = false;
  std::string exit_text;
};

ChildTree::ChildTree() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

ChildTree::~ChildTree() {
  StopAll(std::chrono::seconds(5));
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

std::vector<std::string> ChildTree::Relay(Child& c) {
  std::vector<std::string> lines;
  while (true) {
    char buf[8192];
    ssize_t got = ::read(c.process->output_fd(), buf, sizeof buf);
    if (got <= 0) break;
    c.partial.append(buf, static_cast<size_t>(got));
    size_t nl;
    while ((nl = c.partial.find('\n')) != std::string::npos) {
      std::string line = c.partial.substr(0, nl);
      c.partial.erase(0, nl + 1);
      std::cerr << "[" << c.name << "] " << line << "\n";
      c.tail.push_back(line);
      if (c.tail.size() > 8) c.tail.pop_front();
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

int ChildTree::PollOnce(int timeout_ms, bool* signalled, const std::string* marker_child,
                        const std::string* marker, std::string* marker_line) {
  std::vector<pollfd> fds;
  fds.push_back({signal_fd_, POLLIN, 0});
  for (auto& c : children_) {
    fds.push_back({c->exited ? -1 : c->process->output_fd(), POLLIN, 0});
    fds.push_back({c->exited ? -1 : c->process->exit_fd(), POLLIN, 0});
  }
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n <= 0) return -1;
  if (fds[0].revents & POLLIN) {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    *signalled = true;
  }
  int exited = -1;
  for (size_t i = 0; i < children_.size(); ++i) {
    Child& c = *children_[i];
    if (c.exited) continue;
    // Drain output first (also after an exit, so its last words are shown).
    bool drain = (fds[1 + 2 * i].revents & (POLLIN | POLLHUP)) != 0 ||
                 (fds[2 + 2 * i].revents & POLLIN) != 0;
    if (drain) {
      for (const std::string& line : Relay(c)) {
        if (marker != nullptr && marker_line->empty() && *marker_child == c.name &&
            line.find(*marker) != std::string::npos) {
          *marker_line = line;
        }
      }
    }
    if (fds[2 + 2 * i].revents & POLLIN) {
      if (auto info = c.process->TryReap()) {
        c.exited = true;
        c.exit_text = info->Describe();
        if (exited < 0) exited = static_cast<int>(i);
      }
    }
  }
  std::cerr << std::flush;
  return exited;
}

Result<std::string> ChildTree::StartAndWait(const std::string& name, process::SpawnSpec spec,
                                            const std::string& ready_marker,
                                            std::chrono::seconds limit) {
  auto process = process::ChildProcess::Spawn(spec);
  if (!process.ok()) {
    return Status::Unavailable("cannot start the " + name + ": " + process.status().message());
  }
  auto child = std::make_unique<Child>();
  child->name = name;
  child->process = std::move(*process);
  children_.push_back(std::move(child));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string line;
  while (line.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::DeadlineExceeded("the " + name + " did not get ready within " +
                                      std::to_string(limit.count()) + " s");
    }
    bool signalled = false;
    int exited = PollOnce(static_cast<int>(std::min<int64_t>(left.count(), 1000)), &signalled,
                          &name, &ready_marker, &line);
    if (signalled) return Status::Unavailable("interrupted");
    if (exited >= 0) {
      const Child& c = *children_[static_cast<size_t>(exited)];
      std::string last;
      for (const auto& l : c.tail) last += "\n  " + l;
      return Status::Unavailable("the " + c.name + " stopped (" + c.exit_text +
                                 ") before it was ready" + (last.empty() ? "" : ":" + last));
    }
  }
  return line;
}

int ChildTree::Supervise() {
  while (true) {
    bool signalled = false;
    int exited = PollOnce(-1, &signalled, nullptr, nullptr, nullptr);
    if (signalled) {
      std::cerr << "sparkify up: stopping" << std::endl;
      std::vector<std::string> killed = StopAll();
      if (!killed.empty()) {
        std::string names;
        for (const auto& n : killed) names += (names.empty() ? "the " : ", the ") + n;
        std::cerr << "sparkify up: " << names << " did not stop in time and had to be killed"
                  << std::endl;
        return 1;
      }
      std::cerr << "sparkify up: stopped" << std::endl;
      return 0;
    }
    if (exited >= 0) {
      const Child& c = *children_[static_cast<size_t>(exited)];
      std::cerr << "sparkify up: the " << c.name << " stopped (" << c.exit_text
                << "); stopping everything" << std::endl;
      StopAll();
      return 1;
    }
  }
}

std::vector<std::string> ChildTree::StopAll(std::chrono::seconds grace) {
  std::vector<std::string> killed;
  // One at a time, the last started first: a child may still use the ones started before it
  // while it stops (the web app saves its jobs' state to the store and waits on the function).
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    Child& c = **it;
    if (!c.exited) c.process->KillGroup(SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    bool sent_kill = false;
    while (!c.exited) {
      Relay(c);  // what it says while stopping (why it is slow, its last errors)
      // And what the others say meanwhile: a full pipe would block a child that logs.
      for (auto& other : children_) {
        if (other.get() != &c && !other->exited) Relay(*other);
      }
      if (auto info = c.process->TryReap()) {
        Relay(c);
        if (!c.partial.empty()) std::cerr << "[" << c.name << "] " << c.partial << "\n";
        c.partial.clear();
        c.exited = true;
        c.exit_text = info->Describe();
        break;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        if (!sent_kill) {
          killed.push_back(c.name);
          c.process->KillGroup(SIGKILL);
          sent_kill = true;
        }
        left = std::chrono::milliseconds(2000);
      }
      pollfd p{c.process->exit_fd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    }
  }
  std::cerr << std::flush;
  children_.clear();
  return killed;
}

}  // namespace sparkify::cli
