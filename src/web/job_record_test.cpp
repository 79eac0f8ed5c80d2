// The job record's JSON (pure) and JobBook's conditional writes against the store in-process.
#include "web/internal/job_record.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/test_util.h"

namespace sparkify::web::internal {
namespace {

JobRecord SampleRecord() {
  JobRecord r;
  JobSnapshot& s = r.snapshot;
  s.id = "0123456789abcdef01234567";
  s.version = 12;
  s.stage = JobStage::kDone;
  Cover done;
  done.index = 0;
  done.name = "Album \"A\" – Ärtist\n";
  done.stage = CoverStage::kDone;
  done.key = "uploads/direct/00112233445566778899aabbccddeeff.png";
  done.width = 640;
  done.height = 480;
  done.preview_key = "cutouts/abc.png";
  done.preview_cutout = true;
  done.note = "The same picture as cover 2.";
  Cover failed;
  failed.index = 1;
  failed.name = "b.jpg";
  failed.stage = CoverStage::kFailed;
  failed.error = ApiError{"bad_image", "This image is damaged."};
  s.covers = {done, failed};
  Collage c;
  c.seed = (uint64_t{1} << 53) - 1;
  c.dominant = {10, 20, 30};
  c.complementary = {245, 235, 225};
  c.palette = {{1, 2, 3}, {255, 0, 128}};
  CollageItem item;
  item.item.kind = layout::Item::Kind::kCutout;
  item.item.key = "cutouts/abc.png";
  item.item.rank = 0;
  item.item.width = 502;
  item.item.height = 506;
  item.item.quality = 0.93;
  item.alt = "Album A";
  c.items = {item};
  s.collage = c;
  r.finished_at = 1'780'000'000;
  r.shared = {7, c.seed};
  return r;
}

TEST(JobRecord, RoundTripsEveryField) {
  const JobRecord r = SampleRecord();
  auto back = ParseJobRecord(JobRecordJson(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(JobRecordJson(*back), JobRecordJson(r));
  const JobSnapshot& s = back->snapshot;
  EXPECT_EQ(s.covers[0].name, r.snapshot.covers[0].name);
  EXPECT_TRUE(s.covers[0].preview_cutout);
  EXPECT_EQ(s.covers[1].error->code, "bad_image");
  EXPECT_FALSE(s.covers[0].error);
  EXPECT_EQ(s.collage->seed, (uint64_t{1} << 53) - 1);
  EXPECT_EQ(s.collage->items[0].item.kind, layout::Item::Kind::kCutout);
  EXPECT_DOUBLE_EQ(s.collage->items[0].item.quality, 0.93);
  EXPECT_EQ(back->finished_at, r.finished_at);
  EXPECT_EQ(back->shared, r.shared);

  JobRecord running;
  running.snapshot.id = "ab";
  running.snapshot.waiting_ahead = 3;
  back = ParseJobRecord(JobRecordJson(running));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->snapshot.collage);
  EXPECT_FALSE(back->finished_at);
  EXPECT_EQ(back->snapshot.waiting_ahead, 3);
}

TEST(JobRecord, RefusesWhatIsNotOne) {
  const std::string good = JobRecordJson(SampleRecord());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  for (const std::string& bad :
       {std::string("[]"), std::string("not json"), std::string("{}"),
        with("\"format\":1", "\"format\":2"), with("\"state\":\"done\"", "\"state\":\"dancing\""),
        with("\"state\":\"failed\"", "\"state\":7"), with("[10,20,30]", "[10,20,300]"),
        with("[10,20,30]", "[10,20]"), with("\"kind\":\"cutout\"", "\"kind\":\"video\""),
        with("\"version\":12", "\"version\":-1"), with("\"shared\":[7", "\"shared\":[\"7\""),
        with("\"width\":640", "\"width\":1e9"),
        with("\"preview_cutout\":true", "\"preview_cutout\":1"),
        with("\"covers\":[", "\"covers\":{\"x\":[") + "}",
        with("\"key\":\"cutouts/abc.png\"", "\"key\":\"jobs/other.json\""),
        with("\"preview_key\":\"cutouts/abc.png\"", "\"preview_key\":\"collages/x.png\""),
        with("\"quality\":0.93", "\"quality\":7"),
        with("\"finished_at\":1780000000", "\"finished_at\":9223372036854775807"),
        with("\"version\":12", "\"version\":18446744073709551615")}) {
    EXPECT_FALSE(ParseJobRecord(bad).ok()) << bad.substr(0, 200);
  }
  // Nested too deep for a record: refused before it is walked.
  EXPECT_FALSE(ParseJobRecord(std::string(100, '[') + std::string(100, ']')).ok());
}

TEST(JobBook, WritesOnlyOverTheVersionItRead) {
  store::InProcessStore store;
  ASSERT_TRUE(store.status().ok()) << store.status().ToString();
  ASSERT_TRUE(store.Client().CreateBucket("sparkify").ok());
  WebOptions options;
  options.s3_endpoint = store.endpoint();
  options.credentials = store::InProcessStore::kRoot;
  Bucket bucket(options);
  JobBook book(&bucket);

  JobRecord r = SampleRecord();
  auto missing = book.Load(r.snapshot.id);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(*missing);

  std::string etag;
  ASSERT_TRUE(book.Save(r, &etag).ok());
  EXPECT_FALSE(etag.empty());
  std::string none;  // a second "new" record with the same id is refused
  EXPECT_EQ(book.Save(r, &none).code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(none.empty());

  // Two replicas read the same version; the first write wins, the second must read again.
  auto a = book.Load(r.snapshot.id);
  auto b = book.Load(r.snapshot.id);
  ASSERT_TRUE(a.ok() && *a && b.ok() && *b);
  EXPECT_EQ((*a)->etag, etag);
  (*a)->record.snapshot.collage->seed = 1;
  (*b)->record.snapshot.collage->seed = 2;
  ASSERT_TRUE(book.Save((*a)->record, &(*a)->etag).ok());
  std::string b_etag = (*b)->etag;
  EXPECT_EQ(book.Save((*b)->record, &b_etag).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(b_etag, (*b)->etag);  // unchanged on failure
  auto now = book.Load(r.snapshot.id);
  ASSERT_TRUE(now.ok() && *now);
  EXPECT_EQ((*now)->record.snapshot.collage->seed, 1u);

  // Many writers at once, each retrying from a fresh read: no update is lost.
  constexpr int kWriters = 4, kEach = 5;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        while (true) {
          auto got = book.Load(r.snapshot.id);
          ASSERT_TRUE(got.ok() && *got);
          (*got)->record.shared.push_back(1000);
          Status s = book.Save((*got)->record, &(*got)->etag);
          if (s.ok()) break;
          ASSERT_TRUE(s.code() == Status::Code::kFailedPrecondition ||
                      s3client::S3ErrorOf(s).value_or(s3client::S3Error{}).code ==
                          "ConditionalRequestConflict")
              << s.ToString();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  auto final = book.Load(r.snapshot.id);
  ASSERT_TRUE(final.ok() && *final);
  EXPECT_EQ((*final)->record.shared.size(), r.shared.size() + kWriters * kEach);

  // A record that is not one (written by someone else) is an error, not a job.
  ASSERT_TRUE(store.Client().PutObject("sparkify", JobRecordKey("ff"), "{\"format\":9}").ok());
  EXPECT_EQ(book.Load("ff").status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(store.Client().PutObject("sparkify", JobRecordKey("ee"), JobRecordJson(r)).ok());
  EXPECT_EQ(book.Load("ee").status().code(), Status::Code::kInvalidArgument);  // another id
}

}  // namespace
}  // namespace sparkify::web::internal
