// DiskStore round trips: buckets, documents, objects and keys of every shape.
#include "diskstore/disk_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using testing::GetObject;
using testing::Md5HexOf;
using testing::PutObject;
using testing::RandomData;

class DiskStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Reopen() {
    store_.reset();
    DiskStoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.clock = &clock_;
    auto s = DiskStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // Every file under the test dir, for checks that nothing escaped the data dir.
  std::vector<std::string> FilesOutsideData() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      if (e.path().filename() != "data") out.push_back(e.path());
    }
    return out;
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint(std::chrono::seconds(1700000000))};
  std::unique_ptr<DiskStore> store_;
};

TEST_F(DiskStoreTest, OpenFailsClearlyOnAnUnusableDir) {
  DiskStoreOptions o;
  o.data_dir = dir_.path() + "/file";
  ASSERT_TRUE(std::filesystem::create_directories(dir_.path()) || true);
  {
    std::FILE* f = std::fopen(o.data_dir.c_str(), "w");
    std::fclose(f);
  }
  auto s = DiskStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(o.data_dir), std::string::npos) << s.status().ToString();
  o.data_dir = "";
  EXPECT_EQ(DiskStore::Open(o).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(DiskStoreTest, OpenMakesMissingParentDirs) {
  DiskStoreOptions o;
  o.data_dir = dir_.path() + "/x/y/z/";
  auto s = DiskStore::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() + "/x/y/z/buckets"));
}

TEST_F(DiskStoreTest, OneStorePerDataDir) {
  DiskStoreOptions o;
  o.data_dir = dir_.path() + "/data";
  auto second = DiskStore::Open(o);  // store_ holds it
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another sparkify store"), std::string::npos)
      << second.status().ToString();
  store_.reset();
  EXPECT_TRUE(DiskStore::Open(o).ok());  // released on close
}

TEST_F(DiskStoreTest, TheDataIsPrivateToItsUser) {
  auto mode = [](const std::string& path) {
    return std::filesystem::status(path).permissions() & std::filesystem::perms::all;
  };
  using std::filesystem::perms;
  const std::string data = dir_.path() + "/data";
  ASSERT_TRUE(PutObject(*store_, "b", "some/key", "secret cover").ok());
  EXPECT_EQ(mode(data), perms::owner_all);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
    if (e.is_directory()) {
      EXPECT_EQ(mode(e.path().string()), perms::owner_all) << e.path();
    } else {
      EXPECT_EQ(mode(e.path().string()), perms::owner_read | perms::owner_write) << e.path();
      files.push_back(e.path().string());
    }
  }
  EXPECT_GE(files.size(), 2u);  // the object and the lock file at least

  // A data dir someone made world-readable is made private again at open.
  store_.reset();
  std::filesystem::permissions(data, perms::owner_all | perms::group_read | perms::group_exec |
                                         perms::others_read | perms::others_exec);
  Reopen();
  EXPECT_EQ(mode(data), perms::owner_all);
}

// Lifecycle expiration: objects under the prefix written before the cutoff go, in every
// bucket; other keys, and a key written again after the cutoff, stay.
TEST_F(DiskStoreTest, ExpireObjectsDeletesOnlyOldObjectsUnderThePrefix) {
  ASSERT_TRUE(store_->CreateBucket("other").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "b", "uploads/a", "a").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "b", "uploads/rewritten", "1").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "other", "uploads/c", "c").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "b", "cutouts/a", "kept").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "b", "uploadsX", "kept").ok());
  clock_.Advance(std::chrono::hours(2));
  const TimePoint cutoff = clock_.Now() - std::chrono::hours(1);
  ASSERT_TRUE(testing::PutObject(*store_, "b", "uploads/rewritten", "2").ok());
  ASSERT_TRUE(testing::PutObject(*store_, "b", "uploads/young", "y").ok());
  auto expired = store_->ExpireObjects("uploads/", cutoff);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(*expired, 2);
  EXPECT_TRUE(store_->Head("b", "uploads/a").status().IsNotFound());
  EXPECT_TRUE(store_->Head("other", "uploads/c").status().IsNotFound());
  for (const char* key : {"uploads/rewritten", "uploads/young", "cutouts/a", "uploadsX"}) {
    EXPECT_TRUE(store_->Head("b", key).ok()) << key;
  }
  EXPECT_EQ(*store_->ExpireObjects("uploads/", cutoff), 0);
  Reopen();
  EXPECT_TRUE(store_->Head("b", "uploads/a").status().IsNotFound()) << "gone from the disk too";
}

TEST_F(DiskStoreTest, Buckets) {
  EXPECT_EQ(store_->CreateBucket("b").code(), Status::Code::kAlreadyExists);
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(store_->CreateBucket("a").ok());
  for (const char* bad : {"", ".", "..", "a/b", "../x"}) {
    EXPECT_EQ(store_->CreateBucket(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  auto list = store_->ListBuckets();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a");
  EXPECT_EQ(list[1].name, "b");
  EXPECT_EQ(list[0].created, clock_.Now());
  EXPECT_EQ(store_->GetBucket("b")->created, clock_.Now() - std::chrono::seconds(5));
  EXPECT_TRUE(store_->GetBucket("nope").status().IsNotFound());
  EXPECT_TRUE(store_->DeleteBucket("nope").IsNotFound());

  ASSERT_TRUE(PutObject(*store_, "a", "k", "v").ok());
  Status st = store_->DeleteBucket("a");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("not empty"), std::string::npos);
  ASSERT_TRUE(store_->Delete("a", "k").ok());
  // Uploads in progress do not keep a bucket alive (S3 behaviour): they go with it.
  auto upload = store_->CreateUpload("a", "big", {});
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(store_->DeleteBucket("a").ok());
  EXPECT_TRUE(store_->GetBucket("a").status().IsNotFound());
  ASSERT_TRUE(store_->CreateBucket("a").ok());
  EXPECT_TRUE(store_->GetUpload("a", *upload).status().IsNotFound());
  EXPECT_TRUE(store_->List("a", {})->objects.empty());
  Reopen();
  EXPECT_EQ(store_->ListBuckets().size(), 2u);
  EXPECT_EQ(store_->GetBucket("b")->created, clock_.Now() - std::chrono::seconds(5));
}

TEST_F(DiskStoreTest, BucketDocuments) {
  EXPECT_TRUE(store_->GetBucketDocument("b", "policy").status().IsNotFound());
  ASSERT_TRUE(store_->PutBucketDocument("b", "policy", R"({"Version":"2012-10-17"})").ok());
  ASSERT_TRUE(store_->PutBucketDocument("b", "policy", R"({"v":2})").ok());
  ASSERT_TRUE(store_->PutBucketDocument("b", "public-access-block.json", "").ok());
  EXPECT_EQ(*store_->GetBucketDocument("b", "policy"), R"({"v":2})");
  for (const char* bad : {"", "../x", ".hidden", "a/b"}) {
    EXPECT_EQ(store_->PutBucketDocument("b", bad, "x").code(), Status::Code::kInvalidArgument);
  }
  EXPECT_TRUE(store_->PutBucketDocument("nope", "policy", "x").IsNotFound());
  Reopen();
  EXPECT_EQ(*store_->GetBucketDocument("b", "policy"), R"({"v":2})");
  EXPECT_EQ(*store_->GetBucketDocument("b", "public-access-block.json"), "");
  ASSERT_TRUE(store_->DeleteBucketDocument("b", "policy").ok());
  ASSERT_TRUE(store_->DeleteBucketDocument("b", "policy").ok());
  EXPECT_TRUE(store_->GetBucketDocument("b", "policy").status().IsNotFound());
  // Documents do not make a bucket non-empty.
  EXPECT_TRUE(store_->DeleteBucket("b").ok());
}

TEST_F(DiskStoreTest, RoundTripsOfManySizes) {
  const size_t sizes[] = {0, 1, 1000, 64 * 1024, 64 * 1024 + 1, 1 << 20, 20 << 20};
  for (size_t size : sizes) {
    std::string key = "obj-" + std::to_string(size);
    std::string data = RandomData(size, static_cast<uint32_t>(size));
    clock_.Advance(std::chrono::seconds(1));
    auto put = PutObject(*store_, "b", key, data, {}, 300000);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->etag, Md5HexOf(data));
    EXPECT_EQ(put->size, size);
    EXPECT_EQ(put->last_modified, clock_.Now());
    auto reader = store_->Open("b", key);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ((*reader)->meta().etag, Md5HexOf(data));
    auto got = testing::ReadAll(**reader, 777777);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(*got == data) << "size " << size;
    char c;
    EXPECT_EQ(*(*reader)->ReadAt(size, &c, 1), 0u);
    EXPECT_EQ(store_->Head("b", key)->size, size);
  }
  EXPECT_EQ(Md5HexOf(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(store_->Head("b", "obj-0")->etag, "d41d8cd98f00b204e9800998ecf8427e");
  Reopen();
  EXPECT_EQ(*GetObject(*store_, "b", "obj-" + std::to_string(20 << 20)),
            RandomData(20 << 20, 20 << 20));
  EXPECT_EQ(store_->List("b", {})->objects.size(), std::size(sizes));
}

TEST_F(DiskStoreTest, MetadataIsKeptAndOverwritten) {
  ObjectMeta meta;
  meta.content_type = "image/png";
  meta.cache_control = "max-age=60";
  meta.user_meta = {{"colour", "blue"}, {"big", std::string(8000, 'x')}};
  meta.checksums = {{"SHA256", "abc="}};
  meta.etag = "custom";
  auto put = PutObject(*store_, "b", "k", RandomData(100000, 1), meta);
  ASSERT_TRUE(put.ok());
  auto head = store_->Head("b", "k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "image/png");
  EXPECT_EQ(head->cache_control, "max-age=60");
  EXPECT_EQ(head->user_meta, meta.user_meta);
  EXPECT_EQ(head->checksums, meta.checksums);
  EXPECT_EQ(head->etag, "custom");
  // The listing index keeps only what a listing shows.
  auto list = store_->List("b", {});
  ASSERT_EQ(list->objects.size(), 1u);
  EXPECT_EQ(list->objects[0].etag, "custom");
  EXPECT_TRUE(list->objects[0].user_meta.empty());
  // Overwrite with no metadata: nothing of the old version survives.
  ASSERT_TRUE(PutObject(*store_, "b", "k", "new").ok());
  head = store_->Head("b", "k");
  EXPECT_TRUE(head->user_meta.empty());
  EXPECT_EQ(head->etag, Md5HexOf("new"));
  EXPECT_EQ(*GetObject(*store_, "b", "k"), "new");
}

TEST_F(DiskStoreTest, ConditionalWritesCheckTheCurrentVersionAtCommit) {
  auto write = [&](std::string_view data, const WriteCondition& condition) {
    auto writer = store_->NewWriter("b", "k");
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Append(data).ok());
    return (*writer)->Commit({}, condition);
  };
  WriteCondition absent;
  absent.if_none_match = true;
  auto first = write("one", absent);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = write("two", absent);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(again.status().message().starts_with("PreconditionFailed:"));
  EXPECT_EQ(*GetObject(*store_, "b", "k"), "one");

  WriteCondition match;
  match.if_match = "\"" + first->etag + "\"";  // quoted, as clients send it
  ASSERT_TRUE(write("two", match).ok());
  auto stale = write("three", match);  // the ETag is now two's
  EXPECT_EQ(stale.status().code(), Status::Code::kFailedPrecondition);
  match.if_match = "*";
  ASSERT_TRUE(write("three", match).ok());
  EXPECT_EQ(*GetObject(*store_, "b", "k"), "three");

  auto writer = store_->NewWriter("b", "missing");
  ASSERT_TRUE(writer.ok());
  auto missing = (*writer)->Commit({}, match);
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_TRUE(missing.status().message().starts_with("NoSuchKey:"));
  // Refused writes leave no temp files behind.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/data/tmp"));
}

TEST_F(DiskStoreTest, MissingThingsAndWriterRules) {
  EXPECT_TRUE(store_->Head("b", "nope").status().IsNotFound());
  EXPECT_NE(store_->Open("b", "nope").status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(store_->Head("nobucket", "k").status().IsNotFound());
  EXPECT_TRUE(store_->NewWriter("nobucket", "k").status().IsNotFound());
  EXPECT_TRUE(store_->List("nobucket", {}).status().IsNotFound());
  EXPECT_TRUE(store_->Delete("b", "nope").ok());
  EXPECT_EQ(store_->List("b", {"", "", "", -1}).status().code(), Status::Code::kInvalidArgument);

  auto w = store_->NewWriter("b", "k");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("abc").ok());
  EXPECT_EQ((*w)->Md5Hex(), Md5HexOf("abc"));
  ASSERT_TRUE((*w)->Append("def").ok());
  EXPECT_EQ((*w)->bytes_written(), 6u);
  EXPECT_TRUE(store_->Head("b", "k").status().IsNotFound()) << "visible before Commit";
  ASSERT_TRUE((*w)->Commit({}).ok());
  EXPECT_EQ(store_->Head("b", "k")->etag, Md5HexOf("abcdef"));
  EXPECT_EQ((*w)->Commit({}).status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ((*w)->Append("x").code(), Status::Code::kFailedPrecondition);

  // A writer dropped without Commit leaves nothing behind.
  {
    auto dropped = store_->NewWriter("b", "dropped");
    ASSERT_TRUE((*dropped)->Append(RandomData(500000, 2)).ok());
  }
  EXPECT_TRUE(store_->Head("b", "dropped").status().IsNotFound());
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/data/tmp"));

  // A bucket deleted while a writer is open: Commit fails, nothing lands in a new namesake.
  ASSERT_TRUE(store_->CreateBucket("gone").ok());
  auto late = store_->NewWriter("gone", "k");
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(store_->DeleteBucket("gone").ok());
  ASSERT_TRUE(store_->CreateBucket("gone").ok());
  ASSERT_TRUE((*late)->Append("x").ok());
  EXPECT_TRUE((*late)->Commit({}).status().IsNotFound());
  EXPECT_TRUE(store_->List("gone", {})->objects.empty());
  EXPECT_TRUE(store_->Head("gone", "k").status().IsNotFound());
}

// Keys are never paths: every one of these round-trips and nothing appears outside data/.
TEST_F(DiskStoreTest, KeysOfEveryShape) {
  const std::string keys[] = {"../../../../etc/passwd",
                              "..",
                              ".",
                              "/",
                              "//double//slash//",
                              "/leading",
                              "trailing/",
                              "with space",
                              "a+b=c&d?e#f",
                              "%2e%2e%2f",
                              "\xc3\xbc"
                              "n"
                              "\xc3\xaf"
                              "c"
                              "\xc3\xb6"
                              "d\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac",
                              "emoji \xf0\x9f\x8e\xb5",
                              std::string(1024, 'k'),
                              std::string(1023, '/') + "x",
                              "ctrl\x01\x02\n\r\t\x7f",
                              std::string("nul\0byte", 8),
                              "\xff\xfe not utf-8",
                              "back\\slash"};
  for (const std::string& key : keys) {
    std::string data = "data of " + key;
    auto put = PutObject(*store_, "b", key, data);
    ASSERT_TRUE(put.ok()) << ::testing::PrintToString(key) << ": " << put.status().ToString();
    EXPECT_EQ(put->key, key);
  }
  for (const std::string& key : keys) {
    EXPECT_EQ(*GetObject(*store_, "b", key), "data of " + key) << ::testing::PrintToString(key);
    EXPECT_EQ(store_->Head("b", key)->key, key);
  }
  std::vector<std::string> sorted(std::begin(keys), std::end(keys));
  std::sort(sorted.begin(), sorted.end());
  auto list = store_->List("b", {});
  ASSERT_EQ(list->objects.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(list->objects[i].key, sorted[i]);
  EXPECT_TRUE(FilesOutsideData().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/data/etc"));
  Reopen();
  for (const std::string& key : keys) {
    EXPECT_EQ(*GetObject(*store_, "b", key), "data of " + key) << ::testing::PrintToString(key);
    ASSERT_TRUE(store_->Delete("b", key).ok());
    EXPECT_TRUE(store_->Head("b", key).status().IsNotFound());
  }
  EXPECT_TRUE(store_->List("b", {})->objects.empty());

  const std::string too_long(1025, 'k');
  EXPECT_EQ(store_->NewWriter("b", too_long).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->NewWriter("b", "").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Open("b", too_long).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Delete("b", "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->CreateUpload("b", too_long, {}).status().code(),
            Status::Code::kInvalidArgument);
}

// The store's listing against the brute-force reference over the same keys, page by page.
TEST_F(DiskStoreTest, ListingMatchesReference) {
  std::vector<std::string> keys;
  for (const char* dir : {"a/", "a/b/", "b/", "c-", ""}) {
    for (int i = 0; i < 12; ++i) keys.push_back(std::string(dir) + "k" + std::to_string(i));
  }
  for (const auto& k : keys) ASSERT_TRUE(PutObject(*store_, "b", k, k).ok());
  std::sort(keys.begin(), keys.end());
  for (const char* prefix : {"", "a", "a/", "a/b/", "c"}) {
    for (const char* delim : {"", "/", "-", "b/"}) {
      for (int max_keys : {1, 5, 1000}) {
        ListOptions o{prefix, delim, "", max_keys};
        std::vector<testing::Entry> want = testing::ReferenceEntries(keys, o), got;
        for (int page = 0;; ++page) {
          auto r = store_->List("b", o);
          ASSERT_TRUE(r.ok());
          auto entries = testing::PageEntries(*r);
          got.insert(got.end(), entries.begin(), entries.end());
          for (const auto& obj : r->objects) EXPECT_EQ(obj.size, obj.key.size());
          if (!r->truncated) break;
          o.start_after = r->last_key;
          ASSERT_LT(page, 1000);
        }
        EXPECT_EQ(got, want) << prefix << " " << delim << " " << max_keys;
      }
    }
  }
}

}  // namespace
}  // namespace sparkify::diskstore
