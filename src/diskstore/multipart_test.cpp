// Multipart uploads: any order, concurrently, validated part lists, abort, restarts.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "diskstore/disk_store.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using testing::GetObject;
using testing::Md5HexOf;
using testing::RandomData;
using PartList = std::vector<std::pair<int, std::string>>;

constexpr uint64_t kMinPart = 5000;

// The S3 multipart ETag, computed here independently of the store.
std::string MultipartEtag(const std::vector<std::string>& parts) {
  std::string md5s;
  for (const auto& p : parts) md5s += Md5(p);
  return Md5HexOf(md5s) + "-" + std::to_string(parts.size());
}

class MultipartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Reopen() {
    store_.reset();
    DiskStoreOptions o;
    o.data_dir = dir_.path() + "/data";
    auto s = DiskStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<ObjectMeta> UploadPart(const std::string& id, int number, const std::string& data) {
    SPARKIFY_ASSIGN_OR_RETURN(auto w, store_->NewPartWriter("b", id, number));
    for (size_t pos = 0; pos < data.size(); pos += 10000) {
      SPARKIFY_RETURN_IF_ERROR(w->Append(std::string_view(data).substr(pos, 10000)));
    }
    return w->Commit({});
  }
  std::string NewUpload(const std::string& key = "mp") {
    ObjectMeta meta;
    meta.content_type = "video/mp4";
    meta.user_meta["owner"] = "me";
    auto id = store_->CreateUpload("b", key, meta);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : "";
  }

  testing::TempDir dir_;
  std::unique_ptr<DiskStore> store_;
};

TEST_F(MultipartTest, ShuffledPartsMakeTheRightObject) {
  std::string id = NewUpload();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, NewUpload()) << "upload ids must be random";
  std::vector<std::string> parts;
  for (int i = 0; i < 7; ++i) parts.push_back(RandomData(kMinPart + 40000 * i, i));
  parts.push_back(RandomData(10, 99));  // the last part may be small
  std::vector<int> order(parts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i) + 1;
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  for (int n : order) {
    auto put = UploadPart(id, n, parts[n - 1]);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->etag, Md5HexOf(parts[n - 1]));
  }
  auto listed = store_->ListParts("b", id);
  ASSERT_EQ(listed->size(), parts.size());
  PartList list;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ((*listed)[i].number, static_cast<int>(i) + 1);
    EXPECT_EQ((*listed)[i].size, parts[i].size());
    // Clients quote ETags; the store compares without quotes and case.
    std::string etag = Md5HexOf(parts[i]);
    if (i % 2) std::transform(etag.begin(), etag.end(), etag.begin(), ::toupper);
    list.emplace_back(static_cast<int>(i) + 1, "\"" + etag + "\"");
  }
  auto done = store_->CompleteUpload("b", id, list, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  std::string whole;
  for (const auto& p : parts) whole += p;
  EXPECT_EQ(done->etag, MultipartEtag(parts));
  EXPECT_EQ(done->size, whole.size());
  EXPECT_EQ(done->parts_count, 8);
  EXPECT_TRUE(*GetObject(*store_, "b", "mp") == whole);
  auto head = store_->Head("b", "mp");
  ASSERT_EQ(head->part_sizes.size(), parts.size());
  for (size_t i = 0; i < parts.size(); ++i) EXPECT_EQ(head->part_sizes[i], parts[i].size());
  EXPECT_EQ(head->etag, MultipartEtag(parts));
  EXPECT_EQ(head->content_type, "video/mp4");
  EXPECT_EQ(head->user_meta.at("owner"), "me");
  EXPECT_EQ(store_->List("b", {})->objects[0].etag, MultipartEtag(parts));
  // The upload is gone.
  EXPECT_TRUE(store_->GetUpload("b", id).status().IsNotFound());
  EXPECT_TRUE(store_->ListParts("b", id).status().IsNotFound());
  EXPECT_TRUE(store_->NewPartWriter("b", id, 1).status().IsNotFound());
  EXPECT_TRUE(store_->CompleteUpload("b", id, list, kMinPart).status().IsNotFound());
}

TEST_F(MultipartTest, ConcurrentPartUploadsAndReplacedParts) {
  std::string id = NewUpload();
  constexpr int kParts = 24;
  std::vector<std::string> parts(kParts);
  for (int i = 0; i < kParts; ++i) parts[i] = RandomData(kMinPart + 1000 * i, 100 + i);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int n = kParts - t; n >= 1; n -= 6) {
        // First a version to be replaced, then the real one.
        EXPECT_TRUE(UploadPart(id, n, RandomData(kMinPart, 7777 + n)).ok());
        EXPECT_TRUE(UploadPart(id, n, parts[n - 1]).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  PartList list;
  for (int i = 0; i < kParts; ++i) list.emplace_back(i + 1, Md5HexOf(parts[i]));
  auto done = store_->CompleteUpload("b", id, list, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->etag, MultipartEtag(parts));
  std::string whole;
  for (const auto& p : parts) whole += p;
  EXPECT_TRUE(*GetObject(*store_, "b", "mp") == whole);
}

TEST_F(MultipartTest, SubsetOfPartsMayBeCompleted) {
  std::string id = NewUpload();
  std::vector<std::string> parts = {RandomData(kMinPart, 1), RandomData(kMinPart, 2),
                                    RandomData(100, 3)};
  for (int n = 1; n <= 3; ++n) ASSERT_TRUE(UploadPart(id, n, parts[n - 1]).ok());
  auto done = store_->CompleteUpload("b", id, {{1, Md5HexOf(parts[0])}, {3, Md5HexOf(parts[2])}},
                                     kMinPart);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->etag, MultipartEtag({parts[0], parts[2]}));
  EXPECT_TRUE(*GetObject(*store_, "b", "mp") == parts[0] + parts[2]);
}

TEST_F(MultipartTest, BadPartListsAreRefused) {
  std::string id = NewUpload();
  std::string p1 = RandomData(kMinPart, 1), p2 = RandomData(kMinPart - 1, 2), p3 = "tail";
  ASSERT_TRUE(UploadPart(id, 1, p1).ok());
  ASSERT_TRUE(UploadPart(id, 2, p2).ok());
  ASSERT_TRUE(UploadPart(id, 3, p3).ok());
  const std::string e1 = Md5HexOf(p1), e2 = Md5HexOf(p2), e3 = Md5HexOf(p3);
  struct Case {
    const char* name;
    PartList parts;
    const char* prefix;
  };
  const Case cases[] = {
      {"empty", {}, "MalformedXML:"},
      {"descending", {{2, e2}, {1, e1}}, "InvalidPartOrder:"},
      {"duplicate", {{1, e1}, {1, e1}}, "InvalidPartOrder:"},
      {"missing part", {{1, e1}, {4, e3}}, "InvalidPart:"},
      {"part zero", {{0, e1}}, "InvalidPart:"},
      {"part 10001", {{10001, e1}}, "InvalidPart:"},
      {"wrong etag", {{1, e2}, {3, e3}}, "InvalidPart:"},
      {"garbage etag", {{1, "zz"}}, "InvalidPart:"},
      {"too small", {{1, e1}, {2, e2}, {3, e3}}, "EntityTooSmall:"},
  };
  for (const Case& c : cases) {
    auto r = store_->CompleteUpload("b", id, c.parts, kMinPart);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.name;
    EXPECT_EQ(r.status().message().rfind(c.prefix, 0), 0u) << c.name << ": " << r.status().message();
  }
  EXPECT_TRUE(store_->Head("b", "mp").status().IsNotFound());
  // Nothing was consumed: a good list still completes.
  auto ok = store_->CompleteUpload("b", id, {{1, e1}, {3, e3}}, kMinPart);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();

  for (const char* bad_id : {"", "../../x", "0123456789abcdef0123456789abcdeg",
                             "0123456789abcdef0123456789abcdef"}) {
    EXPECT_TRUE(store_->CompleteUpload("b", bad_id, {{1, e1}}, 0).status().IsNotFound());
    EXPECT_TRUE(store_->GetUpload("b", bad_id).status().IsNotFound());
    EXPECT_TRUE(store_->AbortUpload("b", bad_id).IsNotFound());
    EXPECT_TRUE(store_->NewPartWriter("b", bad_id, 1).status().IsNotFound());
  }
  std::string id2 = NewUpload();
  for (int n : {0, -1, 10001}) {
    EXPECT_EQ(store_->NewPartWriter("b", id2, n).status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_TRUE(store_->CreateUpload("nobucket", "k", {}).status().IsNotFound());
}

TEST_F(MultipartTest, AbortRemovesTheUploadAndLateParts) {
  std::string id = NewUpload();
  ASSERT_TRUE(UploadPart(id, 1, "one").ok());
  auto late = store_->NewPartWriter("b", id, 2);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->Append("two").ok());
  ASSERT_TRUE(store_->AbortUpload("b", id).ok());
  EXPECT_TRUE(store_->AbortUpload("b", id).IsNotFound());
  EXPECT_TRUE(store_->GetUpload("b", id).status().IsNotFound());
  EXPECT_TRUE((*late)->Commit({}).status().IsNotFound());
  EXPECT_TRUE(store_->ListUploads("b")->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/data/buckets/b/uploads"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/data/tmp"));
}

TEST_F(MultipartTest, UploadsSurviveRestartAndAreListed) {
  std::string a = NewUpload("key-b"), b = NewUpload("key-a");
  std::string p1 = RandomData(kMinPart, 1);
  ASSERT_TRUE(UploadPart(a, 1, p1).ok());
  Reopen();
  auto uploads = store_->ListUploads("b");
  ASSERT_EQ(uploads->size(), 2u);
  EXPECT_EQ((*uploads)[0].key, "key-a");
  EXPECT_EQ((*uploads)[0].upload_id, b);
  EXPECT_EQ((*uploads)[1].upload_id, a);
  EXPECT_EQ((*uploads)[1].meta.content_type, "video/mp4");
  ASSERT_TRUE(UploadPart(a, 2, "end").ok());
  auto done = store_->CompleteUpload("b", a, {{1, Md5HexOf(p1)}, {2, Md5HexOf("end")}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->key, "key-b");
  Reopen();
  EXPECT_TRUE(*GetObject(*store_, "b", "key-b") == p1 + "end");
  EXPECT_EQ(store_->Head("b", "key-b")->etag, MultipartEtag({p1, "end"}));
  EXPECT_EQ(store_->ListUploads("b")->size(), 1u);
}

// Two Completes of one upload at once: exactly one wins.
TEST_F(MultipartTest, OldUploadsAreAbortedInEveryBucket) {
  ASSERT_TRUE(store_->CreateBucket("other").ok());
  const std::string old_one = NewUpload("old");
  auto old_elsewhere = store_->CreateUpload("other", "old", {});
  ASSERT_TRUE(old_elsewhere.ok());
  ASSERT_TRUE(UploadPart(old_one, 1, "part").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const TimePoint cutoff = Clock::System().Now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string young = NewUpload("young");
  auto aborted = store_->AbortUploadsInitiatedBefore(cutoff);
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 2);
  auto left = store_->ListUploads("b");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].upload_id, young);
  EXPECT_TRUE(store_->ListUploads("other")->empty());
  EXPECT_TRUE(store_->GetUpload("b", old_one).status().IsNotFound());
  EXPECT_EQ(*store_->AbortUploadsInitiatedBefore(cutoff), 0);
}

// A client that did not hear its Complete succeed retries it: the same part list gets the
// same object back while it is the key's current one, even after a restart; anything else
// is NoSuchUpload, and the record goes with the sweep of old uploads.
TEST_F(MultipartTest, ACompletedUploadAnswersARetryWithTheSameObject) {
  std::string id = NewUpload("retried");
  std::string p1 = RandomData(kMinPart, 1), p2 = RandomData(100, 2);
  auto e1 = UploadPart(id, 1, p1), e2 = UploadPart(id, 2, p2);
  ASSERT_TRUE(e1.ok() && e2.ok());
  PartList list{{1, "\"" + e1->etag + "\""}, {2, e2->etag}};
  EXPECT_TRUE(store_->CompletedUpload("b", id, list).status().IsNotFound()) << "not yet";
  auto done = store_->CompleteUpload("b", id, list, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();

  EXPECT_TRUE(store_->CompleteUpload("b", id, list, kMinPart).status().IsNotFound());
  auto again = store_->CompletedUpload("b", id, {{1, e1->etag}, {2, "\"" + e2->etag + "\""}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->etag, done->etag);
  EXPECT_EQ(again->key, "retried");
  EXPECT_TRUE(store_->CompletedUpload("b", id, {{1, e1->etag}}).status().IsNotFound())
      << "another part list is another request";
  EXPECT_TRUE(store_->ListUploads("b")->empty()) << "a record is not an upload in progress";
  EXPECT_TRUE(store_->GetUpload("b", id).status().IsNotFound());
  Reopen();
  EXPECT_TRUE(store_->CompletedUpload("b", id, list).ok());

  auto w = store_->NewWriter("b", "retried");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("newer").ok());
  ASSERT_TRUE((*w)->Commit({}).ok());
  EXPECT_TRUE(store_->CompletedUpload("b", id, list).status().IsNotFound())
      << "the object it made was overwritten";

  std::string id2 = NewUpload("swept");
  auto e = UploadPart(id2, 1, "x");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(store_->CompleteUpload("b", id2, {{1, e->etag}}, kMinPart).ok());
  ASSERT_TRUE(store_->CompletedUpload("b", id2, {{1, e->etag}}).ok());
  ASSERT_TRUE(
      store_->AbortUploadsInitiatedBefore(Clock::System().Now() - std::chrono::hours(1)).ok());
  EXPECT_TRUE(store_->CompletedUpload("b", id2, {{1, e->etag}}).ok()) << "young: kept";
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(store_->AbortUploadsInitiatedBefore(Clock::System().Now()).ok());
  EXPECT_TRUE(store_->CompletedUpload("b", id2, {{1, e->etag}}).status().IsNotFound());
  EXPECT_TRUE(store_->Head("b", "swept").ok()) << "forgetting the record keeps the object";
}

TEST_F(MultipartTest, RacingCompletesCommitOnce) {
  for (int round = 0; round < 5; ++round) {
    std::string id = NewUpload();
    std::string p = RandomData(300000, round);
    ASSERT_TRUE(UploadPart(id, 1, p).ok());
    std::atomic<int> wins{0}, not_found{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        auto r = store_->CompleteUpload("b", id, {{1, Md5HexOf(p)}}, kMinPart);
        if (r.ok()) ++wins;
        if (r.status().IsNotFound()) ++not_found;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(not_found.load(), 2);
    EXPECT_TRUE(*GetObject(*store_, "b", "mp") == p);
  }
}

}  // namespace
}  // namespace sparkify::diskstore
