// DiskStore under concurrency and restarts: one whole version per key, readers keep what they
// opened, temp files and damaged files are dealt with at Open().
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "diskstore/disk_store.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using testing::GetObject;
using testing::Md5HexOf;
using testing::PutObject;
using testing::RandomData;
namespace fs = std::filesystem;

// a + to_string(n), spelled so that GCC 12's -Wrestrict false positive stays quiet.
std::string Numbered(std::string a, int n) {
  a += std::to_string(n);
  return a;
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Reopen() {
    store_.reset();
    DiskStoreOptions o;
    o.data_dir = data_dir();
    auto s = DiskStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string ObjectFile(const std::string& key) const {
    std::string hash = Sha256Hex(key);
    return data_dir() + "/buckets/b/objects/" + hash.substr(0, 2) + "/" + hash;
  }
  static size_t CountFiles(const std::string& dir) {
    if (!fs::exists(dir)) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
  }

  testing::TempDir dir_;
  std::unique_ptr<DiskStore> store_;
};

// 8 writers x 50 distinct versions of one key, with readers checking every version they open
// is whole. Afterwards the object is exactly one of the written versions, and the index, the
// header and a fresh Open() all agree.
TEST_F(DurabilityTest, ConcurrentWritersToOneKeyLeaveOneWholeVersion) {
  constexpr int kWriters = 8, kWrites = 50;
  ASSERT_TRUE(PutObject(*store_, "b", "hot", "initial").ok());
  std::set<std::string> versions = {Md5HexOf("initial")};
  std::mutex versions_mu;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, failures{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!done) {
        auto reader = store_->Open("b", "hot");
        auto data = reader.ok() ? testing::ReadAll(**reader) : Result<std::string>(reader.status());
        if (!data.ok() || Md5HexOf(*data) != (*reader)->meta().etag ||
            data->size() != (*reader)->meta().size) {
          ++failures;
        }
        ++reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        size_t size = i % 3 == 0 ? 100000 + t * 1000 + i : 1000 + 37 * i + t;
        std::string data = RandomData(size, static_cast<uint32_t>(t * 1000 + i));
        {
          std::lock_guard lock(versions_mu);
          versions.insert(Md5HexOf(data));
        }
        auto put = PutObject(*store_, "b", "hot", data, {}, 4096);
        if (!put.ok() || put->etag != Md5HexOf(data)) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  for (auto& r : threads) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(versions.size(), 1u + kWriters * kWrites);

  auto check = [&] {
    auto data = GetObject(*store_, "b", "hot");
    ASSERT_TRUE(data.ok());
    std::string md5 = Md5HexOf(*data);
    EXPECT_EQ(versions.count(md5), 1u);
    auto head = store_->Head("b", "hot");
    EXPECT_EQ(head->etag, md5);
    EXPECT_EQ(head->size, data->size());
    auto list = store_->List("b", {});
    ASSERT_EQ(list->objects.size(), 1u);
    EXPECT_EQ(list->objects[0].etag, md5);
    EXPECT_EQ(list->objects[0].size, data->size());
  };
  check();
  EXPECT_EQ(CountFiles(data_dir() + "/tmp"), 0u);
  Reopen();
  check();
}

// Writers to many keys and deleters at once: the index ends up equal to what is on disk.
TEST_F(DurabilityTest, IndexAgreesWithDiskAfterConcurrentPutsAndDeletes) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string key = Numbered("k", (i * 7 + t) % 50);
        if ((i + t) % 4 == 0) {
          EXPECT_TRUE(store_->Delete("b", key).ok());
        } else {
          EXPECT_TRUE(PutObject(*store_, "b", key, Numbered(key, i)).ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto before = testing::PageEntries(*store_->List("b", {}));
  for (const auto& [key, is_prefix] : before) {
    auto head = store_->Head("b", key);
    ASSERT_TRUE(head.ok()) << key;
  }
  Reopen();
  EXPECT_EQ(testing::PageEntries(*store_->List("b", {})), before);
}

TEST_F(DurabilityTest, ReaderKeepsTheVersionItOpened) {
  std::string v1 = RandomData(3 << 20, 1), v2 = RandomData(1 << 20, 2);
  ASSERT_TRUE(PutObject(*store_, "b", "k", v1).ok());
  auto reader = store_->Open("b", "k");
  ASSERT_TRUE(reader.ok());
  std::string first(1000, '\0');
  ASSERT_EQ(*(*reader)->ReadAt(0, first.data(), first.size()), 1000u);
  ASSERT_TRUE(PutObject(*store_, "b", "k", v2).ok());
  EXPECT_EQ(*GetObject(*store_, "b", "k"), v2);
  auto small = store_->Open("b", "k");
  ASSERT_TRUE(store_->Delete("b", "k").ok());
  EXPECT_TRUE(store_->Head("b", "k").status().IsNotFound());
  auto rest = testing::ReadAll(**reader);
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(*rest == v1);
  EXPECT_EQ((*reader)->meta().etag, Md5HexOf(v1));
  EXPECT_TRUE(*testing::ReadAll(**small) == v2);
}

TEST_F(DurabilityTest, RestartKeepsEverything) {
  ASSERT_TRUE(store_->CreateBucket("other").ok());
  ObjectMeta meta;
  meta.content_type = "text/plain";
  meta.user_meta["x"] = "y";
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(PutObject(*store_, i % 2 ? "b" : "other", Numbered("dir/", i),
                          RandomData(static_cast<size_t>(i) * 1000, i), meta)
                    .ok());
  }
  ASSERT_TRUE(store_->PutBucketDocument("b", "policy", "{}").ok());
  auto upload = store_->CreateUpload("b", "mp", meta);
  auto part = store_->NewPartWriter("b", *upload, 2);
  ASSERT_TRUE((*part)->Append("part two").ok());
  ASSERT_TRUE((*part)->Commit({}).ok());
  auto before_b = store_->List("b", {}).value();
  Reopen();
  EXPECT_EQ(store_->ListBuckets().size(), 2u);
  auto after_b = store_->List("b", {}).value();
  ASSERT_EQ(after_b.objects.size(), 50u);
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(after_b.objects[i].key, before_b.objects[i].key);
    EXPECT_EQ(after_b.objects[i].etag, before_b.objects[i].etag);
    EXPECT_EQ(after_b.objects[i].last_modified, before_b.objects[i].last_modified);
  }
  EXPECT_EQ(store_->List("other", {})->objects.size(), 50u);
  EXPECT_EQ(*GetObject(*store_, "other", "dir/42"), RandomData(42000, 42));
  EXPECT_EQ(store_->Head("b", "dir/7")->user_meta.at("x"), "y");
  EXPECT_EQ(*store_->GetBucketDocument("b", "policy"), "{}");
  EXPECT_EQ(store_->GetUpload("b", *upload)->key, "mp");
  auto parts = store_->ListParts("b", *upload);
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].etag, Md5HexOf("part two"));
}

TEST_F(DurabilityTest, LeftoverTempFilesAreRemovedAtOpen) {
  std::string tmp = data_dir() + "/tmp";
  std::ofstream(tmp + "/0123.tmp") << "half an object";
  fs::create_directories(tmp + "/abcd.bucket/objects/00");
  std::ofstream(tmp + "/abcd.bucket/objects/00/x") << "x";
  auto writer = store_->NewWriter("b", "never-committed");
  ASSERT_TRUE((*writer)->Append(RandomData(200000, 5)).ok());
  EXPECT_EQ(CountFiles(tmp), 3u);
  // A crash would leave the writer's temp file: re-open while the writer is still alive.
  Reopen();
  EXPECT_EQ(CountFiles(tmp), 0u);
  EXPECT_TRUE(store_->Head("b", "never-committed").status().IsNotFound());
}

TEST_F(DurabilityTest, CorruptObjectFilesAreSkippedAndMovedAside) {
  for (const char* key : {"good", "truncated", "flipped", "empty", "misplaced"}) {
    ASSERT_TRUE(PutObject(*store_, "b", key, RandomData(5000, 9)).ok());
  }
  store_.reset();
  fs::resize_file(ObjectFile("truncated"), fs::file_size(ObjectFile("truncated")) - 1);
  {
    std::fstream f(ObjectFile("flipped"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(45);
    f.put('#');
  }
  fs::resize_file(ObjectFile("empty"), 0);
  // A whole, valid file under the wrong name (its key hashes elsewhere).
  fs::create_directories(fs::path(ObjectFile("elsewhere")).parent_path());
  fs::copy_file(ObjectFile("misplaced"), ObjectFile("elsewhere"));
  fs::remove(ObjectFile("misplaced"));
  fs::create_directories(data_dir() + "/buckets/b/objects/00");
  std::ofstream(data_dir() + "/buckets/b/objects/00/junk") << "junk";
  std::ofstream(data_dir() + "/buckets/b/objects/stray") << "stray";
  Reopen();
  auto list = store_->List("b", {});
  ASSERT_EQ(list->objects.size(), 1u);
  EXPECT_EQ(list->objects[0].key, "good");
  for (const char* key : {"truncated", "flipped", "empty", "misplaced", "elsewhere"}) {
    EXPECT_TRUE(store_->Head("b", key).status().IsNotFound()) << key;
  }
  EXPECT_EQ(CountFiles(data_dir() + "/quarantine"), 6u);
  EXPECT_EQ(*GetObject(*store_, "b", "good"), RandomData(5000, 9));
  // The bucket still works, and a new version of a skipped key is served.
  ASSERT_TRUE(PutObject(*store_, "b", "flipped", "fresh").ok());
  EXPECT_EQ(*GetObject(*store_, "b", "flipped"), "fresh");
}

}  // namespace
}  // namespace sparkify::diskstore
