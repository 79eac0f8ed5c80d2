#include "diskstore/internal/object_format.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "diskstore/internal/posix_file.h"
#include "diskstore/internal/staged_file.h"
#include "diskstore/test_util.h"

namespace sparkify::diskstore::internal {
namespace {

ObjectMeta FullMeta() {
  ObjectMeta m;
  m.key = std::string("key\0with\xff bytes/../", 19);
  m.size = 3;
  m.etag = "900150983cd24fb0d6963f7d28e17f72";
  m.last_modified = TimePoint(std::chrono::nanoseconds(1700000000123456789LL));
  m.content_type = "text/plain";
  m.cache_control = "no-cache";
  m.content_disposition = "attachment; filename=\"a b.txt\"";
  m.content_encoding = "gzip";
  m.content_language = "fr";
  m.expires = "Thu, 01 Dec 1994 16:00:00 GMT";
  m.user_meta = {{"a", "1"}, {"bin", std::string("\0\n\r", 3)}, {"empty", ""}};
  m.checksums = {{"CRC32", "NhCmhg=="}};
  m.parts_count = 3;
  m.part_sizes = {5u << 20, (5u << 20) + 3, 1};
  return m;
}

void ExpectSameMeta(const ObjectMeta& a, const ObjectMeta& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.etag, b.etag);
  EXPECT_EQ(a.last_modified, b.last_modified);
  EXPECT_EQ(a.content_type, b.content_type);
  EXPECT_EQ(a.cache_control, b.cache_control);
  EXPECT_EQ(a.content_disposition, b.content_disposition);
  EXPECT_EQ(a.content_encoding, b.content_encoding);
  EXPECT_EQ(a.content_language, b.content_language);
  EXPECT_EQ(a.expires, b.expires);
  EXPECT_EQ(a.user_meta, b.user_meta);
  EXPECT_EQ(a.checksums, b.checksums);
  EXPECT_EQ(a.parts_count, b.parts_count);
  EXPECT_EQ(a.part_sizes, b.part_sizes);
}

TEST(ObjectFormatTest, MetaRoundTripsAnyBytes) {
  ObjectMeta in = FullMeta();
  ObjectMeta out;
  int part = -1;
  ASSERT_TRUE(DecodeMeta(EncodeMeta(in, 17), &out, &part).ok());
  ExpectSameMeta(in, out);
  EXPECT_EQ(part, 17);
  ASSERT_TRUE(DecodeMeta(EncodeMeta(ObjectMeta{}), &out, &part).ok());
  EXPECT_EQ(part, 0);
  EXPECT_TRUE(out.key.empty());
}

TEST(ObjectFormatTest, MetaRejectsTruncatedRecords) {
  std::string enc = EncodeMeta(FullMeta());
  ObjectMeta out;
  for (size_t cut : {size_t{1}, size_t{4}, size_t{7}, enc.size() - 1}) {
    EXPECT_EQ(DecodeMeta(std::string_view(enc).substr(0, cut), &out, nullptr).code(),
              Status::Code::kCorruption)
        << "cut at " << cut;
  }
}

class FormatFileTest : public ::testing::Test {
 protected:
  // Writes a file through StagedFile and returns its path.
  std::string Stage(std::string_view data, const ObjectMeta& meta) {
    StagedFile f(dir_.path(), /*sync=*/false);
    EXPECT_TRUE(f.Append(data).ok());
    EXPECT_TRUE(f.Finish(FileKind::kObject, EncodeMeta(meta)).ok());
    f.MarkPublished();
    return f.temp_path();
  }
  Result<FileHeader> Read(const std::string& path) {
    SPARKIFY_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
    return ReadHeader(fd.get(), path);
  }
  testing::TempDir dir_;
};

TEST_F(FormatFileTest, SmallLargeAndHugeMetaLayouts) {
  struct Case {
    size_t data_size;
    size_t user_meta_bytes;
    uint64_t expect_offset;  // 0: right after the meta
  };
  const Case cases[] = {{0, 0, 0},
                        {100, 0, 0},
                        {StagedFile::kInlineBytes, 0, 0},
                        {StagedFile::kInlineBytes + 1, 0, kReservedHeaderBytes},
                        {300000, 0, kReservedHeaderBytes},
                        {300000, 10000, 0},  // meta too big for the reserved room: rewritten
                        {10, 10000, 0}};
  for (const Case& c : cases) {
    std::string data = testing::RandomData(c.data_size, 7);
    ObjectMeta meta = FullMeta();
    meta.size = data.size();
    meta.user_meta["big"] = std::string(c.user_meta_bytes, 'v');
    std::string path = Stage(data, meta);
    auto h = Read(path);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->data_len, data.size());
    std::string encoded = EncodeMeta(meta);
    EXPECT_EQ(h->meta, encoded);
    EXPECT_EQ(h->data_offset, c.expect_offset ? c.expect_offset : kFixedHeaderBytes + encoded.size());
    auto all = ReadSmallFile(path);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->substr(h->data_offset), data);
  }
}

TEST_F(FormatFileTest, DetectsDamage) {
  std::string data = testing::RandomData(1000, 1);
  ObjectMeta meta = FullMeta();
  meta.size = data.size();
  std::string good = *ReadSmallFile(Stage(data, meta));
  struct Case {
    const char* name;
    std::string content;
  };
  auto flip = [&](size_t pos) {
    std::string s = good;
    s[pos] = static_cast<char>(s[pos] ^ 0x40);
    return s;
  };
  const Case cases[] = {
      {"empty", ""},
      {"magic", flip(0)},
      {"version", flip(8)},
      {"meta length", flip(12)},
      {"data length", flip(24)},
      {"crc", flip(33)},
      {"meta byte", flip(40)},
      {"truncated data", good.substr(0, good.size() - 1)},
      {"truncated header", good.substr(0, 20)},
      {"extra byte", good + "x"},
  };
  for (const Case& c : cases) {
    std::string path = dir_.path() + "/damaged";
    ASSERT_TRUE(WriteFileAtomic(dir_.path(), path, dir_.path(), c.content, false).ok());
    auto h = Read(path);
    EXPECT_EQ(h.status().code(), Status::Code::kCorruption) << c.name;
  }
  std::string path = dir_.path() + "/good";
  ASSERT_TRUE(WriteFileAtomic(dir_.path(), path, dir_.path(), good, false).ok());
  EXPECT_TRUE(Read(path).ok());
}

TEST_F(FormatFileTest, DiscardedStagedFileLeavesNothing) {
  {
    StagedFile f(dir_.path(), false);
    ASSERT_TRUE(f.Append(testing::RandomData(200000, 3)).ok());
  }
  {
    StagedFile f(dir_.path(), false);
    ASSERT_TRUE(f.Append("small").ok());
    ASSERT_TRUE(f.Finish(FileKind::kObject, EncodeMeta(ObjectMeta{})).ok());
  }
  EXPECT_TRUE(ListDir(dir_.path())->empty());
}

TEST(RunningMd5Test, SnapshotsDoNotDisturbTheRunningDigest) {
  RunningMd5 md5;
  EXPECT_EQ(md5.Hex(), "d41d8cd98f00b204e9800998ecf8427e");
  md5.Update("a");
  EXPECT_EQ(md5.Hex(), testing::Md5HexOf("a"));
  md5.Update("bc");
  EXPECT_EQ(md5.Hex(), "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace sparkify::diskstore::internal
