// Encryption at rest: the record format on its own (round trips, tampering), the master key
// file, and the disk store's encrypted objects, parts and uploads.
#include "diskstore/internal/sealing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "diskstore/disk_store.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore {
namespace {

using internal::KeyRing;
using internal::kSealRecordBytes;
using internal::MasterKey;
using internal::SealedRecords;
using internal::SealedSize;
using internal::Sealer;
using internal::Unsealer;
using testing::RandomData;

std::string SealAll(const std::string& key, std::string_view plain, size_t chunk) {
  Sealer sealer(key);
  std::string out;
  auto sink = [&](std::string_view s) {
    out.append(s);
    return Status::OK();
  };
  for (size_t pos = 0; pos < plain.size(); pos += chunk) {
    EXPECT_TRUE(sealer.Append(plain.substr(pos, chunk), sink).ok());
  }
  EXPECT_TRUE(sealer.Finish(sink).ok());
  EXPECT_EQ(sealer.plain_size(), plain.size());
  return out;
}

Result<std::string> OpenAll(const std::string& key, std::string_view sealed, uint64_t size) {
  Unsealer unsealer(key, size);
  std::string out, plain;
  for (uint64_t i = 0; i < SealedRecords(size); ++i) {
    uint64_t at = unsealer.RecordOffset(i), len = unsealer.SealedRecordBytes(i);
    if (at + len > sealed.size()) return Status::Corruption("short");
    SPARKIFY_RETURN_IF_ERROR(unsealer.Open(i, sealed.substr(at, len), &plain, "f"));
    out += plain;
  }
  return out;
}

TEST(SealingTest, RecordsRoundTripAtEverySizeAndChunking) {
  const std::string key = RandomBytes(32);
  const uint64_t r = kSealRecordBytes;
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, r - 1, r, r + 1, 3 * r, 3 * r + 17}) {
    std::string plain = RandomData(size, static_cast<uint32_t>(size));
    for (size_t chunk : {size_t{1000}, size_t{r}, size_t{1 << 20}}) {
      if (chunk == 1000 && size > r + 1) continue;  // slow and adds nothing
      std::string sealed = SealAll(key, plain, chunk);
      EXPECT_EQ(sealed.size(), SealedSize(size)) << size;
      if (size > 64) {
        EXPECT_EQ(sealed.find(plain.substr(0, 64)), std::string::npos);
      }
      auto back = OpenAll(key, sealed, size);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, plain) << "size " << size << " chunk " << chunk;
    }
  }
}

TEST(SealingTest, TamperedMovedOrTruncatedRecordsDoNotAuthenticate) {
  const std::string key = RandomBytes(32);
  const uint64_t size = 3 * kSealRecordBytes;
  std::string plain = RandomData(size, 7);
  std::string sealed = SealAll(key, plain, 1 << 20);
  ASSERT_TRUE(OpenAll(key, sealed, size).ok());

  std::string flipped = sealed;
  flipped[kSealRecordBytes + 100] ^= 1;
  EXPECT_EQ(OpenAll(key, flipped, size).status().code(), Status::Code::kCorruption);

  // Records 0 and 1 swapped: each is opened under the other's nonce.
  const size_t rec = kSealRecordBytes + internal::kSealTagBytes;
  std::string swapped = sealed.substr(rec, rec) + sealed.substr(0, rec) + sealed.substr(2 * rec);
  EXPECT_EQ(OpenAll(key, swapped, size).status().code(), Status::Code::kCorruption);

  // Cut at a record boundary, with the size in the metadata cut to match: the new last record
  // was not sealed as the last.
  EXPECT_EQ(OpenAll(key, sealed.substr(0, 2 * rec), 2 * kSealRecordBytes).status().code(),
            Status::Code::kCorruption);

  EXPECT_EQ(OpenAll(RandomBytes(32), sealed, size).status().code(), Status::Code::kCorruption);
}

TEST(SealingTest, DataKeysAreWrappedUnderTheMasterKey) {
  MasterKey master = MasterKey::Generate();
  auto [data_key, info] = master.NewDataKey();
  EXPECT_EQ(info.key_id, master.id());
  EXPECT_EQ(info.wrapped_key.find(data_key), std::string::npos);
  auto back = master.Unwrap(info, "f");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data_key);
  EXPECT_NE(master.NewDataKey().first, data_key);

  auto tampered = info;
  tampered.wrapped_key[20] ^= 1;
  EXPECT_EQ(master.Unwrap(tampered, "f").status().code(), Status::Code::kCorruption);

  MasterKey other = MasterKey::Generate();
  auto wrong = other.Unwrap(info, "f");
  EXPECT_EQ(wrong.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find(master.id()), std::string::npos);

  auto parsed = MasterKey::Parse(master.Text(), "k");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->id(), master.id());
  for (const std::string& bad :
       std::vector<std::string>{"", "abc", std::string(64, 'g'), std::string(66, 'a')}) {
    EXPECT_EQ(MasterKey::Parse(bad, "k").status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(SealingTest, TheKeyFileIsMadeOncePrivateAndReadBack) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/key";
  KeyRing ring(path, dir.path(), dir.path(), /*fsync=*/false);
  ASSERT_TRUE(ring.CheckAtOpen().ok());  // nothing encrypted yet: no key needed
  EXPECT_EQ(ring.Get().status().code(), Status::Code::kFailedPrecondition);
  auto made = ring.GetOrCreate();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 65);

  KeyRing again(path, dir.path(), dir.path(), false);
  ASSERT_TRUE(again.CheckAtOpen().ok());
  auto loaded = again.GetOrCreate();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->id(), (*made)->id());
  // The key and the marker naming it; no staging file left.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"key", "sse-s3.keyid"}));
}

// The disk store's encrypted objects.
class SealedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  Result<std::unique_ptr<DiskStore>> TryOpen(const std::string& key_file) {
    DiskStoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.encryption_key_file = key_file;
    o.fsync = false;
    return DiskStore::Open(o);
  }
  void Reopen(const std::string& key_file = "") {
    store_.reset();
    auto s = TryOpen(key_file);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<ObjectMeta> Put(const std::string& key, std::string_view data, bool encrypt) {
    SPARKIFY_ASSIGN_OR_RETURN(auto w, store_->NewWriter("b", key, encrypt));
    for (size_t pos = 0; pos < data.size(); pos += 100000) {
      SPARKIFY_RETURN_IF_ERROR(w->Append(data.substr(pos, 100000)));
    }
    ObjectMeta meta;
    meta.content_type = "image/png";
    return w->Commit(meta);
  }
  // Every file of the data dir, concatenated.
  std::string AllBytesOnDisk() {
    std::string all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }
  std::string ObjectFile(const std::string& key) {
    std::string h = Sha256Hex(key);
    return dir_.path() + "/data/buckets/b/objects/" + h.substr(0, 2) + "/" + h;
  }

  testing::TempDir dir_;
  std::unique_ptr<DiskStore> store_;
};

TEST_F(SealedStoreTest, EncryptedObjectsReadBackAnyRangeAndNeverReachTheDiskInPlain) {
  const std::string marker = "SECRET-ALBUM-COVER-BYTES";
  std::string data = marker + RandomData(3 * kSealRecordBytes + 5000, 3) + marker;
  auto meta = Put("cover.png", data, true);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->size, data.size());
  EXPECT_EQ(meta->etag, testing::Md5HexOf(data));
  EXPECT_EQ(meta->server_side_encryption, "AES256");
  auto plain = Put("plain.txt", "hello " + marker, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->server_side_encryption, "");

  std::string disk = AllBytesOnDisk();
  // Only the plain object holds the marker.
  EXPECT_EQ(disk.find(marker), disk.rfind(marker));
  EXPECT_EQ(disk.find(data.substr(1000, 64)), std::string::npos);

  Reopen();  // the index and the key survive a restart
  auto reader = store_->Open("b", "cover.png");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->fd(), -1);  // no sendfile of ciphertext
  EXPECT_EQ((*reader)->meta().server_side_encryption, "AES256");
  EXPECT_EQ((*reader)->meta().content_type, "image/png");
  auto all = testing::ReadAll(**reader, 7777);  // reads that straddle records
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, data);
  for (uint64_t off :
       {uint64_t{0}, kSealRecordBytes - 3, 2 * kSealRecordBytes, uint64_t{data.size() - 10}}) {
    std::string buf(20, '\0');
    auto n = (*reader)->ReadAt(off, buf.data(), buf.size());
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(buf.substr(0, *n), data.substr(off, 20)) << off;
  }
  auto listed = store_->List("b", {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[0].size, data.size());

  // The empty object is one sealed record too.
  ASSERT_TRUE(Put("empty", "", true).ok());
  auto empty = testing::GetObject(*store_, "b", "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(SealedStoreTest, AFlippedByteOnDiskIsAnErrorNotWrongData) {
  std::string data = RandomData(2 * kSealRecordBytes, 5);
  ASSERT_TRUE(Put("k", data, true).ok());
  {
    // Flipped, not overwritten: the ciphertext is random, so a fixed byte would be the one
    // already there once in 256 runs.
    std::fstream f(ObjectFile("k"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-100, std::ios::end);
    const char old = static_cast<char>(f.get());
    f.seekp(-100, std::ios::end);
    f.put(static_cast<char>(old ^ 0x5a));
  }
  auto reader = store_->Open("b", "k");
  ASSERT_TRUE(reader.ok());
  std::string buf(1000, '\0');
  EXPECT_TRUE((*reader)->ReadAt(0, buf.data(), buf.size()).ok());  // record 0 is intact
  auto bad = (*reader)->ReadAt(kSealRecordBytes + 10, buf.data(), buf.size());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
}

TEST_F(SealedStoreTest, AStoreWithoutTheKeyItsObjectsNeedDoesNotOpen) {
  ASSERT_TRUE(Put("secret", "s3cr3t", true).ok());
  ASSERT_TRUE(Put("open", "public", false).ok());
  const std::string key_file = dir_.path() + "/data/sse-s3.key";
  ASSERT_TRUE(std::filesystem::exists(key_file));

  // Moved elsewhere: the store reads it from there.
  const std::string elsewhere = dir_.path() + "/elsewhere.key";
  std::filesystem::rename(key_file, elsewhere);
  Reopen(elsewhere);
  EXPECT_EQ(*testing::GetObject(*store_, "b", "secret"), "s3cr3t");
  store_.reset();

  auto expect_refused = [&](const std::string& file, const std::string& why) {
    auto opened = TryOpen(file);
    ASSERT_FALSE(opened.ok()) << file;
    EXPECT_EQ(opened.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(opened.status().message().find(why), std::string::npos) << opened.status().ToString();
  };
  // Missing: refused, never a new key beside the old objects.
  expect_refused("", "is missing");
  EXPECT_FALSE(std::filesystem::exists(key_file));
  // Another key.
  { std::ofstream(key_file) << MasterKey::Generate().Text(); }
  expect_refused("", "holds key");
  // Not a key.
  { std::ofstream(key_file) << "not a key\n"; }
  expect_refused("", "64 hex digits");
  // In a directory that is not there (a secrets mount not mounted).
  expect_refused(dir_.path() + "/no-such-dir/sse.key", "does not exist");

  // The right key again, and a leftover of a key creation cut short is cleaned up.
  std::filesystem::rename(elsewhere, key_file);
  const std::string leftover = key_file + ".new-0123abcd";
  { std::ofstream(leftover) << MasterKey::Generate().Text(); }
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_EQ(*testing::GetObject(*store_, "b", "secret"), "s3cr3t");
  EXPECT_EQ(*testing::GetObject(*store_, "b", "open"), "public");
}

TEST_F(SealedStoreTest, WithoutAnyEncryptedObjectTheKeyIsNotNeeded) {
  ASSERT_TRUE(Put("open", "public", false).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/data/sse-s3.key"));
  Reopen(dir_.path() + "/later.key");  // any key file, made at the first encrypted write
  ASSERT_TRUE(Put("secret", "s", true).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/later.key"));
}

TEST_F(SealedStoreTest, EncryptedUploadsSealTheirPartsAndTheObject) {
  ObjectMeta meta;
  meta.server_side_encryption = "AES256";
  auto id = store_->CreateUpload("b", "big", meta);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto info = store_->GetUpload("b", *id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->meta.server_side_encryption, "AES256");

  const std::string marker = "PART-MARKER-0123456789";
  std::vector<std::string> parts = {marker + RandomData(kSealRecordBytes + 3, 1),
                                    marker + RandomData(70000, 2), marker + "tail"};
  std::vector<std::pair<int, std::string>> list;
  for (int i = 0; i < 3; ++i) {
    auto w = store_->NewPartWriter("b", *id, i + 1);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(parts[i]).ok());
    auto m = (*w)->Commit({});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->size, parts[i].size());
    list.emplace_back(i + 1, m->etag);
  }
  auto listed = store_->ListParts("b", *id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].size, parts[0].size());
  EXPECT_EQ(AllBytesOnDisk().find(marker), std::string::npos);

  auto done = store_->CompleteUpload("b", *id, list, 5);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->server_side_encryption, "AES256");
  EXPECT_EQ(done->part_sizes,
            (std::vector<uint64_t>{parts[0].size(), parts[1].size(), parts[2].size()}));
  EXPECT_EQ(AllBytesOnDisk().find(marker), std::string::npos);
  auto back = testing::GetObject(*store_, "b", "big");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, parts[0] + parts[1] + parts[2]);

  meta.server_side_encryption = "aws:kms";
  EXPECT_EQ(store_->CreateUpload("b", "k", meta).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sparkify::diskstore
