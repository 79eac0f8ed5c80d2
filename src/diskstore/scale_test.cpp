// 100,000 keys: the index is built at Open() from the object headers, and listing pages
// (prefix, delimiter, start_after) stay fast. Times are printed; only a generous bound is
// asserted, since machines vary.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "diskstore/disk_store.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Bytes currently allocated with malloc (glibc).
long HeapBytes() { return static_cast<long>(mallinfo2().uordblks); }

// On this project's machines / is ext4 mounted with `discard`: freeing 100k flushed files
// costs minutes of synchronous discards. Prefer tmpfs for this test's data, else /tmp.
std::string ScratchBase() {
  return ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

TEST(ScaleTest, HundredThousandKeys) {
  constexpr int kDirs = 100, kSubs = 10, kFiles = 100;
  constexpr double kBoundMs = 1000;
  testing::TempDir dir(ScratchBase());
  DiskStoreOptions o;
  o.data_dir = dir.path() + "/data";
  o.fsync = false;  // the cost measured here is the index, not the disk
  auto opened = DiskStore::Open(o);
  ASSERT_TRUE(opened.ok());
  auto store = std::move(opened).value();
  ASSERT_TRUE(store->CreateBucket("b").ok());
  std::vector<std::string> keys;
  char buf[64];
  for (int d = 0; d < kDirs; ++d) {
    for (int s = 0; s < kSubs; ++s) {
      for (int f = 0; f < kFiles; ++f) {
        std::snprintf(buf, sizeof(buf), "dir%03d/sub%02d/file%05d", d, s, (d * kSubs + s) * kFiles + f);
        keys.emplace_back(buf);
      }
    }
  }
  auto start = Clock::now();
  for (const auto& key : keys) ASSERT_TRUE(testing::PutObject(*store, "b", key, key).ok()) << key;
  double write_ms = MsSince(start);

  store.reset();
  long heap_before = HeapBytes();
  start = Clock::now();
  opened = DiskStore::Open(o);
  double open_ms = MsSince(start);
  ASSERT_TRUE(opened.ok());
  store = std::move(opened).value();
  long heap_after = HeapBytes();
  std::printf("[ timing ] wrote %zu objects in %.0f ms; Open() built the index in %.0f ms "
              "(~%ld bytes of memory per key)\n",
              keys.size(), write_ms, open_ms, (heap_after - heap_before) / static_cast<long>(keys.size()));
  EXPECT_LT(open_ms, 60000);

  struct Case {
    const char* name;
    ListOptions options;
    size_t objects, prefixes;
    bool truncated;
  };
  const Case cases[] = {
      {"first page, no delimiter", {"", "", "", 1000}, 1000, 0, true},
      {"delimiter at the root (100 groups of 1000)", {"", "/", "", 1000}, 0, 100, false},
      {"prefix + delimiter", {"dir050/", "/", "", 1000}, 0, 10, false},
      {"deep prefix", {"dir050/sub05/", "/", "", 1000}, 100, 0, false},
      {"start_after mid-bucket", {"", "", "dir077/sub05/file77500", 1000}, 1000, 0, true},
      {"delimiter + start_after on a group", {"", "/", "dir049/", 10}, 0, 10, true},
      {"prefix + start_after near the end", {"dir099/", "", "dir099/sub09/file99950", 1000}, 49, 0, false},
  };
  for (const Case& c : cases) {
    start = Clock::now();
    auto r = store->List("b", c.options);
    double ms = MsSince(start);
    ASSERT_TRUE(r.ok());
    std::printf("[ timing ] %-45s %7.3f ms (%zu keys, %zu prefixes)\n", c.name, ms,
                r->objects.size(), r->common_prefixes.size());
    EXPECT_EQ(r->objects.size(), c.objects) << c.name;
    EXPECT_EQ(r->common_prefixes.size(), c.prefixes) << c.name;
    EXPECT_EQ(r->truncated, c.truncated) << c.name;
    EXPECT_LT(ms, kBoundMs) << c.name;
  }

  // Every key, page by page, in order.
  ListOptions walk{"", "", "", 1000};
  size_t seen = 0, pages = 0;
  double worst_ms = 0;
  start = Clock::now();
  for (;;) {
    auto page_start = Clock::now();
    auto r = store->List("b", walk);
    worst_ms = std::max(worst_ms, MsSince(page_start));
    ASSERT_TRUE(r.ok());
    for (const auto& obj : r->objects) {
      ASSERT_EQ(obj.key, keys[seen]);
      ++seen;
    }
    ++pages;
    if (!r->truncated) break;
    walk.start_after = r->last_key;
  }
  double walk_ms = MsSince(start);
  std::printf("[ timing ] full walk: %zu pages of 1000 in %.0f ms (%.2f ms per page, worst %.2f)\n",
              pages, walk_ms, walk_ms / static_cast<double>(pages), worst_ms);
  EXPECT_EQ(seen, keys.size());
  EXPECT_LT(worst_ms, kBoundMs);
}

}  // namespace
}  // namespace sparkify::diskstore
