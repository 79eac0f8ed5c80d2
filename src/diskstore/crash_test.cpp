// Kill -9 in the middle of writing: a child process writes objects in a loop and reports each
// acknowledged key and MD5 through a pipe; the parent kills it at a random moment, re-opens the
// store and checks that every acknowledged object is intact and nothing partial is visible.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "diskstore/disk_store.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using testing::Md5HexOf;
using testing::RandomData;

std::string KeyOf(int i) { return "obj/" + std::to_string(i); }
std::string DataOf(int i) { return RandomData(i % 4 == 0 ? 150000 + i : (i * 97) % 5000, i); }
std::string HotDataOf(int i) { return RandomData(70000 + i % 1000, 1000000 + i); }

// The child: writes obj/<i> and rewrites "hot" forever, reporting after each Commit returned.
[[noreturn]] void ChildLoop(const std::string& data_dir, int first, int report_fd) {
  DiskStoreOptions o;
  o.data_dir = data_dir;
  auto store = DiskStore::Open(o);
  if (!store.ok()) _exit(2);
  for (int i = first;; ++i) {
    bool hot = i % 3 == 0;
    std::string key = hot ? "hot" : KeyOf(i);
    std::string data = hot ? HotDataOf(i) : DataOf(i);
    auto put = testing::PutObject(**store, "b", key, data, {}, 65536);
    if (!put.ok()) _exit(3);
    std::string line = std::to_string(i) + " " + put->etag + "\n";
    if (::write(report_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
  }
}

TEST(CrashTest, AcknowledgedObjectsSurviveSigkill) {
  testing::TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  {
    DiskStoreOptions o;
    o.data_dir = data_dir;
    auto store = DiskStore::Open(o);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->CreateBucket("b").ok());
  }
  const unsigned seed = std::random_device{}();
  std::printf("[ seed ] %u\n", seed);
  std::mt19937 rng(seed);
  std::map<int, std::string> acked;  // iteration -> etag, over all rounds
  int last_hot = -1;
  for (int round = 0; round < 3; ++round) {
    const int first = round * 100000;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::fflush(stdout);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      ChildLoop(data_dir, first, fds[1]);
    }
    ::close(fds[1]);
    FILE* in = ::fdopen(fds[0], "r");
    ASSERT_NE(in, nullptr);
    const int kill_after = 10 + static_cast<int>(rng() % 60);
    int i = 0;
    char etag[64];
    int seen = 0;
    while (std::fscanf(in, "%d %63s", &i, etag) == 2) {
      acked[i] = etag;
      if (i % 3 == 0) last_hot = i;
      if (++seen == kill_after) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
        ::kill(pid, SIGKILL);
      }
    }
    std::fclose(in);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child ended by itself with status " << wstatus;
    std::printf("[ crash ] round %d: killed after %d acknowledged writes\n", round, seen);

    DiskStoreOptions o;
    o.data_dir = data_dir;
    auto store = DiskStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (const auto& [n, md5] : acked) {
      if (n % 3 == 0) continue;
      auto data = testing::GetObject(**store, "b", KeyOf(n));
      ASSERT_TRUE(data.ok()) << KeyOf(n) << " was acknowledged: " << data.status().ToString();
      EXPECT_EQ(Md5HexOf(*data), md5) << KeyOf(n);
    }
    // "hot" holds the last acknowledged version or the one that was in flight.
    auto hot = testing::GetObject(**store, "b", "hot");
    ASSERT_TRUE(hot.ok());
    std::string hot_md5 = Md5HexOf(*hot);
    EXPECT_TRUE(hot_md5 == acked[last_hot] || hot_md5 == Md5HexOf(HotDataOf(last_hot + 3)))
        << "hot is neither the acknowledged version " << last_hot << " nor the next one";
    // Everything visible is whole; of unacknowledged writes only the in-flight ones show.
    int unacked = 0;
    ListOptions lo;
    for (;;) {
      auto page = (*store)->List("b", lo);
      ASSERT_TRUE(page.ok());
      for (const auto& obj : page->objects) {
        auto data = testing::GetObject(**store, "b", obj.key);
        ASSERT_TRUE(data.ok()) << obj.key;
        EXPECT_EQ(Md5HexOf(*data), obj.etag) << obj.key;
        EXPECT_EQ(data->size(), obj.size) << obj.key;
        if (obj.key != "hot" && acked.count(std::stoi(obj.key.substr(4))) == 0) ++unacked;
      }
      if (!page->truncated) break;
      lo.start_after = page->last_key;
    }
    EXPECT_LE(unacked, round + 1);  // one in-flight write per kill
    EXPECT_TRUE(std::filesystem::is_empty(data_dir + "/tmp"));
  }
}

}  // namespace
}  // namespace sparkify::diskstore
