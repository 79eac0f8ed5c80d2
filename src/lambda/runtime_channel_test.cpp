// The workers' Runtime API is a private channel: a Unix socket in a 0700 directory, no TCP
// port. Before, it listened on loopback TCP without authentication, and any local process (or
// a web page) could take invocations with GET /next and forge answers with POST /response.
#include <dirent.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "lambda/test_util.h"

namespace sparkify::lambda {
namespace {

using json = nlohmann::json;
using testing::kRiePath;
using testing::LogCapture;
using testing::Post;
using testing::StartOrDie;
using testing::WorkerOptions;

// The socket inodes this process holds.
std::set<std::string> OwnSocketInodes() {
  std::set<std::string> inodes;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return inodes;
  while (dirent* e = ::readdir(dir)) {
    char target[256];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string t(target, static_cast<size_t>(n));
    if (t.starts_with("socket:[")) inodes.insert(t.substr(8, t.size() - 9));
  }
  ::closedir(dir);
  return inodes;
}

// Ports of the TCP sockets in LISTEN state (st 0A) that this process holds.
std::set<int> OwnListeningTcpPorts() {
  std::set<std::string> own = OwnSocketInodes();
  std::set<int> ports;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      if (state != "0A" || own.count(inode) == 0) continue;
      ports.insert(std::stoi(local.substr(local.find(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

std::string RuntimeApiOfWorker(uint16_t port) {
  auto r = Post(port, kRiePath, R"({"op":"env","name":"AWS_LAMBDA_RUNTIME_API"})");
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false).value("value", "");
}

// connect(2) to a Unix socket; 0 or the errno.
int ConnectUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

TEST(RuntimeChannelTest, OnlyTheInvokePortListensOnTcp) {
  LogCapture log;
  auto options = WorkerOptions(&log);
  options.workers = 2;
  auto emu = StartOrDie(options);
  ASSERT_TRUE(emu);
  // Both workers busy at once, so both Runtime API servers certainly run.
  std::thread other([&] { Post(emu->port(), kRiePath, R"({"op":"sleep","ms":300})"); });
  EXPECT_EQ(Post(emu->port(), kRiePath, R"({"op":"sleep","ms":300})").status, 200);
  other.join();
  EXPECT_EQ(OwnListeningTcpPorts(), std::set<int>{emu->port()});
}

TEST(RuntimeChannelTest, TheWorkerSocketIsInAPrivateDirectoryRemovedAtStop) {
  LogCapture log;
  auto emu = StartOrDie(WorkerOptions(&log));
  ASSERT_TRUE(emu);
  std::string api = RuntimeApiOfWorker(emu->port());
  ASSERT_TRUE(api.starts_with("unix:/tmp/sparkify-runtime-")) << api;
  std::string socket_path = api.substr(5);
  std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  ASSERT_EQ(::lstat(socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  emu->Stop();
  EXPECT_NE(::stat(dir.c_str(), &st), 0) << dir << " is left behind";
}

// Another local user (here: nobody) cannot even connect, so it can neither take an
// invocation (GET /next) nor answer one (POST /response). Needs root to become nobody.
TEST(RuntimeChannelTest, AnotherUserCannotReachTheRuntimeApi) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  LogCapture log;
  auto emu = StartOrDie(WorkerOptions(&log));
  ASSERT_TRUE(emu);
  std::string socket_path = RuntimeApiOfWorker(emu->port()).substr(5);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(3);
    int err = ConnectUnix(socket_path);
    _exit(err == EACCES ? 0 : err == 0 ? 1 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: connected; 2: another error; 3: could not drop root";
  // The worker still serves: nothing was taken from it.
  EXPECT_EQ(Post(emu->port(), kRiePath, R"({"op":"echo","n":1})").body, R"({"op":"echo","n":1})");
}

TEST(RuntimeChannelTest, AParentDirectoryTooLongForASocketIsAStartError) {
  LogCapture log;
  auto options = WorkerOptions(&log);
  options.runtime_socket_parent = "/tmp/" + std::string(100, 'd');
  auto emu = Emulator::Start(options);
  ASSERT_FALSE(emu.ok());
  EXPECT_EQ(emu.status().code(), Status::Code::kInvalidArgument);
  options.runtime_socket_parent = "/nonexistent-dir-for-sparkify-test";
  emu = Emulator::Start(options);
  ASSERT_FALSE(emu.ok());
  EXPECT_NE(emu.status().message().find("private directory"), std::string::npos);
}

}  // namespace
}  // namespace sparkify::lambda
