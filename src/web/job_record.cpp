#include "web/internal/job_record.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

constexpr int kFormat = 1;
constexpr uint64_t kMaxRecordBytes = 4 << 20;  // 30 covers take a few KiB

json ErrorJson(const std::optional<ApiError>& e) {
  if (!e) return nullptr;
  return {{"code", e->code}, {"message", e->message}};
}

json RgbJson(const layout::Rgb& c) { return {c.r, c.g, c.b}; }

json CoverJson(const Cover& c) {
  return {{"index", c.index},
          {"name", c.name},
          {"state", CoverStageName(c.stage)},
          {"error", ErrorJson(c.error)},
          {"key", c.key},
          {"width", c.width},
          {"height", c.height},
          {"preview_key", c.preview_key},
          {"preview_cutout", c.preview_cutout},
          {"note", c.note}};
}

json CollageJson(const Collage& c) {
  json palette = json::array();
  for (const layout::Rgb& p : c.palette) palette.push_back(RgbJson(p));
  json items = json::array();
  for (const CollageItem& i : c.items) {
    items.push_back({{"kind", i.item.kind == layout::Item::Kind::kCutout ? "cutout" : "cover"},
                     {"key", i.item.key},
                     {"rank", i.item.rank},
                     {"width", i.item.width},
                     {"height", i.item.height},
                     {"quality", i.item.quality},
                     {"alt", i.alt}});
  }
  return {{"seed", c.seed},
          {"dominant", RgbJson(c.dominant)},
          {"complementary", RgbJson(c.complementary)},
          {"palette", palette},
          {"items", items}};
}

// Reading: every value is checked for its type; a record that does not hold is refused whole.
struct Reader {
  std::string problem;  // the first one found

  void Fail(std::string why) {
    if (problem.empty()) problem = std::move(why);
  }
  // Whether `v` is an object; the problem "<what> is not an object" otherwise.
  bool Object(const json& v, const char* what) {
    if (!v.is_object()) Fail(std::string(what) + " is not an object");
    return v.is_object();
  }

  const json& Member(const json& obj, const char* name) {
    const json& v = JsonMember(obj, name);
    if (v.is_null()) Fail(std::string("no ") + name);
    return v;
  }
  std::string String(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_string()) return v.get<std::string>();
    Fail(std::string(name) + " is not a string");
    return "";
  }
  int64_t Int(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_number_integer()) return v.get<int64_t>();
    Fail(std::string(name) + " is not an integer");
    return 0;
  }
  uint64_t Unsigned(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    Fail(std::string(name) + " is not an unsigned integer");
    return 0;
  }
  int Small(const json& obj, const char* name) {
    int64_t v = Int(obj, name);
    if (v < -1 || v > (1 << 30)) Fail(std::string(name) + " is out of range");
    return static_cast<int>(v);
  }
  bool Bool(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_boolean()) return v.get<bool>();
    Fail(std::string(name) + " is not true or false");
    return false;
  }
  const json& Array(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (!v.is_array()) Fail(std::string(name) + " is not a list");
    return v;
  }
  std::optional<ApiError> Error(const json& obj) {
    const json& v = JsonMember(obj, "error");
    if (v.is_null()) return std::nullopt;
    if (!Object(v, "error")) return std::nullopt;
    return ApiError{String(v, "code"), String(v, "message")};
  }
  layout::Rgb Rgb(const json& v) {
    if (!v.is_array() || v.size() != 3) {
      Fail("a colour is not [r, g, b]");
      return {};
    }
    uint8_t c[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
      if (!v[i].is_number_unsigned() || v[i].get<uint64_t>() > 255) {
        Fail("a colour channel is not 0..255");
        return {};
      }
      c[i] = static_cast<uint8_t>(v[i].get<uint64_t>());
    }
    return {c[0], c[1], c[2]};
  }
};

template <typename Stage>
std::optional<Stage> StageNamed(const std::string& name, std::initializer_list<Stage> stages,
                                std::string_view (*name_of)(Stage)) {
  for (Stage s : stages) {
    if (name_of(s) == name) return s;
  }
  return std::nullopt;
}

Cover ReadCover(Reader& r, const json& v) {
  Cover c;
  if (!r.Object(v, "a cover")) return c;
  c.index = r.Small(v, "index");
  c.name = r.String(v, "name");
  auto stage =
      StageNamed<CoverStage>(r.String(v, "state"),
                             {CoverStage::kQueued, CoverStage::kStored, CoverStage::kSegmenting,
                              CoverStage::kDone, CoverStage::kFailed},
                             &CoverStageName);
  if (!stage) r.Fail("a cover's state is unknown");
  c.stage = stage.value_or(CoverStage::kFailed);
  c.error = r.Error(v);
  c.key = r.String(v, "key");
  c.width = r.Small(v, "width");
  c.height = r.Small(v, "height");
  c.preview_key = r.String(v, "preview_key");
  c.preview_cutout = r.Bool(v, "preview_cutout");
  c.note = r.String(v, "note");
  return c;
}

Collage ReadCollage(Reader& r, const json& v) {
  Collage c;
  if (!r.Object(v, "collage")) return c;
  c.seed = r.Unsigned(v, "seed");
  c.dominant = r.Rgb(JsonMember(v, "dominant"));
  c.complementary = r.Rgb(JsonMember(v, "complementary"));
  for (const json& p : r.Array(v, "palette")) c.palette.push_back(r.Rgb(p));
  for (const json& i : r.Array(v, "items")) {
    CollageItem item;
    if (!r.Object(i, "a collage item")) break;
    const std::string kind = r.String(i, "kind");
    if (kind != "cutout" && kind != "cover") r.Fail("a collage item's kind is unknown");
    item.item.kind = kind == "cutout" ? layout::Item::Kind::kCutout : layout::Item::Kind::kCover;
    item.item.key = r.String(i, "key");
    item.item.rank = r.Small(i, "rank");
    item.item.width = r.Small(i, "width");
    item.item.height = r.Small(i, "height");
    const json& quality = r.Member(i, "quality");
    if (!quality.is_number()) r.Fail("quality is not a number");
    item.item.quality = quality.is_number() ? quality.get<double>() : 0;
    item.alt = r.String(i, "alt");
    c.items.push_back(std::move(item));
  }
  return c;
}

}  // namespace

std::string JobRecordKey(const std::string& job_id) { return "jobs/" + job_id + ".json"; }

std::string JobRecordJson(const JobRecord& record) {
  const JobSnapshot& s = record.snapshot;
  json covers = json::array();
  for (const Cover& c : s.covers) covers.push_back(CoverJson(c));
  json doc = {{"format", kFormat},
              {"id", s.id},
              {"version", s.version},
              {"state", JobStageName(s.stage)},
              {"waiting_ahead", s.waiting_ahead},
              {"error", ErrorJson(s.error)},
              {"covers", covers},
              {"collage", s.collage ? CollageJson(*s.collage) : json(nullptr)},
              {"finished_at", record.finished_at ? json(*record.finished_at) : json(nullptr)},
              {"shared", record.shared},
              {"saved_at", record.saved_at}};
  // Names come from outside (file names, URLs) and need not be UTF-8: replaced, not thrown.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<JobRecord> ParseJobRecord(std::string_view text) {
  json doc = ParseUntrustedJson(text, 8);
  if (!doc.is_object()) return Status::InvalidArgument("a job record is a JSON object");
  Reader r;
  if (r.Int(doc, "format") != kFormat) {
    return Status::InvalidArgument("not a job record of format " + std::to_string(kFormat));
  }
  JobRecord out;
  JobSnapshot& s = out.snapshot;
  s.id = r.String(doc, "id");
  s.version = r.Unsigned(doc, "version");
  auto stage =
      StageNamed<JobStage>(r.String(doc, "state"),
                           {JobStage::kRunning, JobStage::kDone, JobStage::kFailed}, &JobStageName);
  if (!stage) r.Fail("the state is unknown");
  s.stage = stage.value_or(JobStage::kFailed);
  s.waiting_ahead = r.Small(doc, "waiting_ahead");
  s.error = r.Error(doc);
  for (const json& c : r.Array(doc, "covers")) s.covers.push_back(ReadCover(r, c));
  if (const json& collage = JsonMember(doc, "collage"); !collage.is_null()) {
    s.collage = ReadCollage(r, collage);
  }
  if (const json& finished = JsonMember(doc, "finished_at"); !finished.is_null()) {
    out.finished_at = r.Int(doc, "finished_at");
  }
  for (const json& seed : r.Array(doc, "shared")) {
    if (!seed.is_number_unsigned()) {
      r.Fail("a shared seed is not an unsigned integer");
      break;
    }
    out.shared.push_back(seed.get<uint64_t>());
  }
  out.saved_at = r.Int(doc, "saved_at");
  // Bounds: what the web app makes, so that nothing read back can overflow a clock or a
  // counter, make it sign or read keys outside the covers and cut-outs, or pile up.
  auto key_ok = [](const std::string& key, bool empty_ok) {
    return (empty_ok && key.empty()) || key.starts_with("uploads/") || key.starts_with("cutouts/");
  };
  constexpr int64_t kLatest = int64_t{1} << 40;  // seconds: some 34,000 years
  if (s.version > (uint64_t{1} << 62)) r.Fail("version out of range");
  if (s.covers.size() > 1000) r.Fail("too many covers");
  if (out.shared.size() > 10000) r.Fail("too many shared pictures");
  if (out.saved_at < 0 || out.saved_at > kLatest ||
      (out.finished_at && (*out.finished_at < 0 || *out.finished_at > kLatest))) {
    r.Fail("a time out of range");
  }
  for (const Cover& c : s.covers) {
    if (!key_ok(c.key, true) || !key_ok(c.preview_key, true)) r.Fail("a cover key elsewhere");
  }
  if (s.collage) {
    if (s.collage->items.size() > 1000 || s.collage->palette.size() > 64) {
      r.Fail("too many collage items or colours");
    }
    for (const CollageItem& i : s.collage->items) {
      if (!key_ok(i.item.key, false)) r.Fail("a collage item's key elsewhere");
      if (!(i.item.quality >= 0 && i.item.quality <= 1)) r.Fail("quality out of 0..1");
    }
  }
  if (!r.problem.empty()) return Status::InvalidArgument("not a job record: " + r.problem);
  return out;
}

Result<std::optional<JobBook::Stored>> JobBook::Load(const std::string& id) {
  SPARKIFY_ASSIGN_OR_RETURN(auto got, bucket_->GetVersioned(JobRecordKey(id), kMaxRecordBytes));
  if (!got) return std::optional<Stored>();
  SPARKIFY_ASSIGN_OR_RETURN(JobRecord record, ParseJobRecord(got->body));
  if (record.snapshot.id != id) {
    return Status::InvalidArgument("the record of job " + id + " names another job");
  }
  return std::optional<Stored>(Stored{std::move(record), std::move(got->etag)});
}

Status JobBook::Save(const JobRecord& record, std::string* etag) {
  JobRecord stamped = record;
  stamped.saved_at = ToUnixSeconds(Clock::System().Now());
  SPARKIFY_ASSIGN_OR_RETURN(*etag,
                            bucket_->PutIf(JobRecordKey(record.snapshot.id), JobRecordJson(stamped),
                                           "application/json", *etag));
  return Status::OK();
}

}  // namespace sparkify::web::internal

namespace sparkify::web::internal {

JobSaver::JobSaver(SaveFn save) : save_(std::move(save)), thread_([this] { Loop(); }) {}

JobSaver::~JobSaver() { Stop(std::chrono::seconds(0)); }

void JobSaver::Mark(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    dirty_[job->id()] = job;
  }
  cv_.notify_one();
}

void JobSaver::Watch(const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mu_);
  watched_.push_back(job);
}

void JobSaver::Loop() {
  auto last_beat = std::chrono::steady_clock::now();
  auto last_retry = last_beat;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !dirty_.empty(); });
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    struct Save {
      std::shared_ptr<Job> job;
      bool forced = false;
      int failures = 0;  // in a row before this try
    };
    std::vector<Save> batch;
    for (auto& [id, job] : dirty_) batch.push_back({std::move(job), false, 0});
    dirty_.clear();
    if (now - last_retry >= kRetry) {
      for (auto& [id, failed] : failed_) {
        batch.push_back({std::move(failed.first), false, failed.second});
      }
      failed_.clear();
      last_retry = now;
    }
    if (now - last_beat >= kHeartbeat) {
      last_beat = now;
      std::vector<std::weak_ptr<Job>> live;
      for (const auto& weak : watched_) {
        auto job = weak.lock();
        if (!job || job->Snapshot().stage != JobStage::kRunning) continue;
        live.push_back(weak);
        batch.push_back({std::move(job), true, 0});
      }
      watched_ = std::move(live);
    }
    lock.unlock();
    for (Save& save : batch) {
      Status s = save_(*save.job, save.forced);
      if (!s.ok() && save.failures + 1 < kMaxRetries) {
        std::lock_guard relock(mu_);
        failed_[save.job->id()] = {save.job, save.failures + 1};
      }
    }
    lock.lock();
  }
}

void JobSaver::Stop(std::chrono::seconds deadline) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::map<std::string, std::shared_ptr<Job>> rest;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, failed] : failed_) rest[id] = std::move(failed.first);
    failed_.clear();
    for (auto& [id, job] : dirty_) rest[id] = std::move(job);
    dirty_.clear();
  }
  for (auto& [id, job] : rest) {
    if (std::chrono::steady_clock::now() >= until) break;
    (void)save_(*job, false);
  }
}

}  // namespace sparkify::web::internal
