#include "s3client/moto_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "s3client/internal/http_transport.h"

namespace sparkify::s3client::testing {
namespace {

constexpr char kScript[] = R"(import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
)";

// Reads one line from `fd`, waiting at most `timeout`.
std::string ReadLine(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  return line;
}

void Reap(pid_t pid) {
  for (int i = 0; i < 200; ++i) {  // up to ~10 s for a clean exit
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// True once the server answers an HTTP request at all (any status).
bool Answers(int port) {
  internal::HttpResponse response;
  httpclient::Options options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.timeout = std::chrono::milliseconds(5000);
  std::string url = "http://127.0.0.1:";
  url.append(std::to_string(port)).append("/");
  return internal::Perform("GET", url, {}, {}, nullptr, options, &response).ok() &&
         response.status > 0;
}

}  // namespace

Result<std::unique_ptr<MotoServer>> MotoServer::Start() {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return Status::IOError("pipe failed");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return Status::IOError("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0 && std::getenv("SPARKIFY_MOTO_LOG") == nullptr) dup2(devnull, STDERR_FILENO);
    const char* python = std::getenv("SPARKIFY_TEST_PYTHON");
    if (python == nullptr || *python == '\0') python = "python3";
    execlp(python, python, "-c", kScript, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::string line = ReadLine(out[0], std::chrono::seconds(60));
  close(out[0]);
  int port = std::atoi(line.c_str());
  auto server = std::unique_ptr<MotoServer>(new MotoServer(pid, in[1], port));
  if (port <= 0) {
    return Status::Unavailable(
        "moto did not start (is `python3 -c 'import moto.server'` working? set "
        "SPARKIFY_MOTO_LOG=1 to see its errors)");
  }
  // The port is bound before it is printed; still, wait until HTTP answers.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (Answers(port)) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string message = "moto printed port ";
  message.append(std::to_string(port)).append(" but never answered");
  return Status::Unavailable(message);
}

std::string MotoServer::endpoint() const {
  std::string out = "http://127.0.0.1:";
  out += std::to_string(port_);
  return out;
}

MotoServer::~MotoServer() {
  close(stdin_fd_);  // EOF on the server's stdin: it stops and exits
  Reap(pid_);
}

}  // namespace sparkify::s3client::testing
