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
  std::string problem;

  const json& Member(const json& obj, const char* name) {
    const json& v = JsonMember(obj, name);
    if (v.is_null() && problem.empty()) problem = std::string("no ") + name;
    return v;
  }
  std::string String(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_string()) return v.get<std::string>();
    if (problem.empty()) problem = std::string(name) + " is not a string";
    return "";
  }
  int64_t Int(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (problem.empty()) problem = std::string(name) + " is not an integer";
    return 0;
  }
  uint64_t Unsigned(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (problem.empty()) problem = std::string(name) + " is not an unsigned integer";
    return 0;
  }
  int Small(const json& obj, const char* name) {
    int64_t v = Int(obj, name);
    if ((v < -1 || v > (1 << 30)) && problem.empty())
      problem = std::string(name) + " is out of range";
    return static_cast<int>(v);
  }
  bool Bool(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (v.is_boolean()) return v.get<bool>();
    if (problem.empty()) problem = std::string(name) + " is not true or false";
    return false;
  }
  const json& Array(const json& obj, const char* name) {
    const json& v = Member(obj, name);
    if (!v.is_array() && problem.empty()) problem = std::string(name) + " is not a list";
    return v;
  }
  std::optional<ApiError> Error(const json& obj) {
    const json& v = JsonMember(obj, "error");
    if (v.is_null()) return std::nullopt;
    if (!v.is_object()) {
      if (problem.empty()) problem = "error is not an object";
      return std::nullopt;
    }
    return ApiError{String(v, "code"), String(v, "message")};
  }
  layout::Rgb Rgb(const json& v) {
    if (!v.is_array() || v.size() != 3) {
      if (problem.empty()) problem = "a colour is not [r, g, b]";
      return {};
    }
    uint8_t c[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
      if (!v[i].is_number_unsigned() || v[i].get<uint64_t>() > 255) {
        if (problem.empty()) problem = "a colour channel is not 0..255";
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
  if (!v.is_object()) {
    if (r.problem.empty()) r.problem = "a cover is not an object";
    return c;
  }
  c.index = r.Small(v, "index");
  c.name = r.String(v, "name");
  auto stage =
      StageNamed<CoverStage>(r.String(v, "state"),
                             {CoverStage::kQueued, CoverStage::kStored, CoverStage::kSegmenting,
                              CoverStage::kDone, CoverStage::kFailed},
                             &CoverStageName);
  if (!stage && r.problem.empty()) r.problem = "a cover's state is unknown";
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
  if (!v.is_object()) {
    if (r.problem.empty()) r.problem = "collage is not an object";
    return c;
  }
  c.seed = r.Unsigned(v, "seed");
  c.dominant = r.Rgb(JsonMember(v, "dominant"));
  c.complementary = r.Rgb(JsonMember(v, "complementary"));
  for (const json& p : r.Array(v, "palette")) c.palette.push_back(r.Rgb(p));
  for (const json& i : r.Array(v, "items")) {
    CollageItem item;
    if (!i.is_object()) {
      if (r.problem.empty()) r.problem = "a collage item is not an object";
      break;
    }
    const std::string kind = r.String(i, "kind");
    if (kind != "cutout" && kind != "cover" && r.problem.empty()) {
      r.problem = "a collage item's kind is unknown";
    }
    item.item.kind = kind == "cutout" ? layout::Item::Kind::kCutout : layout::Item::Kind::kCover;
    item.item.key = r.String(i, "key");
    item.item.rank = r.Small(i, "rank");
    item.item.width = r.Small(i, "width");
    item.item.height = r.Small(i, "height");
    const json& quality = r.Member(i, "quality");
    if (!quality.is_number() && r.problem.empty()) r.problem = "quality is not a number";
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
  return doc.dump();
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
  if (!stage && r.problem.empty()) r.problem = "the state is unknown";
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
      if (r.problem.empty()) r.problem = "a shared seed is not an unsigned integer";
      break;
    }
    out.shared.push_back(seed.get<uint64_t>());
  }
  out.saved_at = r.Int(doc, "saved_at");
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
