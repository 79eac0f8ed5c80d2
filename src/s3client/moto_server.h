// Test-only: moto's S3 server (Python) on an ephemeral loopback port, for testing the client
// against a real S3 implementation. Later the project's own store takes its place.
// Not thread-safe; one instance per test fixture.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace sparkify::s3client::testing {

class MotoServer {
 public:
  // Runs $SPARKIFY_TEST_PYTHON (default: python3 from PATH) with moto's ThreadedMotoServer bound to
  // 127.0.0.1:0, reads back the port it got, and waits until it answers HTTP. Fails if python3 or
  // moto is missing.
  static Result<std::unique_ptr<MotoServer>> Start();
  // Closes the server's stdin (it stops and exits on EOF), and kills it if it lingers.
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;

 private:
  MotoServer(pid_t pid, int stdin_fd, int port) : pid_(pid), stdin_fd_(stdin_fd), port_(port) {}
  pid_t pid_;
  int stdin_fd_;
  int port_;
};

}  // namespace sparkify::s3client::testing
