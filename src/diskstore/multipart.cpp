// Multipart uploads: uploads/<id>/upload holds what CreateUpload was given, part-NNNNN the
// parts. Every file arrives by rename; CompleteUpload concatenates into a new object file and
// then moves the upload into tmp/ for removal, all renames under the bucket's mutex. In its
// place it leaves uploads/<id>/completed, the record a retried Complete is answered from.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "diskstore/internal/disk_store_impl.h"

namespace sparkify::diskstore::internal {
namespace {

constexpr int kMaxPartNumber = 10000;
constexpr char kUploadFile[] = "/upload";
constexpr char kCompletedFile[] = "/completed";

// The part list as the client gave it: a retry must name the same parts.
std::string PartsFingerprint(const std::vector<std::pair<int, std::string>>& parts) {
  std::string text;
  for (const auto& [number, etag] : parts) {
    text += std::to_string(number) + ":" + NormalizeEtag(etag) + "\n";
  }
  return Sha256Hex(text);
}

struct CompletionRecord {
  std::string key;
  std::string etag;
  std::string parts;  // PartsFingerprint
  int64_t completed_unix_ns = 0;
};

std::string EncodeRecord(const CompletionRecord& r) {
  nlohmann::json doc = {{"key_hex", HexEncode(r.key)},
                        {"etag", r.etag},
                        {"parts_sha256", r.parts},
                        {"completed_unix_ns", r.completed_unix_ns}};
  return doc.dump();
}

Result<CompletionRecord> ReadRecord(const std::string& path) {
  SPARKIFY_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  CompletionRecord r;
  if (doc.is_object() && doc.contains("key_hex") && doc["key_hex"].is_string() &&
      doc.contains("etag") && doc["etag"].is_string() && doc.contains("parts_sha256") &&
      doc["parts_sha256"].is_string() && doc.contains("completed_unix_ns") &&
      doc["completed_unix_ns"].is_number_integer()) {
    auto key = HexDecode(doc["key_hex"].get<std::string>());
    if (key) {
      r.key = std::move(*key);
      r.etag = doc["etag"].get<std::string>();
      r.parts = doc["parts_sha256"].get<std::string>();
      r.completed_unix_ns = doc["completed_unix_ns"].get<int64_t>();
      return r;
    }
  }
  return Status::Corruption("malformed completion record " + path);
}

int64_t UnixNs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string PartFileName(int number) {
  char name[16];
  std::snprintf(name, sizeof(name), "part-%05d", number);
  return name;
}

// Appends the plaintext of an opened part file to `sealer`, whose records go to `staged`.
Status ResealInto(const StoreShared& s, OpenedFile part, const std::string& path, Sealer* sealer,
                  StagedFile* staged) {
  const uint64_t size = part.meta.size;
  SPARKIFY_ASSIGN_OR_RETURN(auto reader, MakeReader(s, std::move(part), path));
  auto sink = [&](std::string_view sealed) { return staged->Append(sealed); };
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < size;) {
    SPARKIFY_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(off, buf.data(), buf.size()));
    if (n == 0) return Status::Corruption("part file " + path + " ended early");
    SPARKIFY_RETURN_IF_ERROR(sealer->Append(std::string_view(buf.data(), n), sink));
    off += n;
  }
  return Status::OK();
}

}  // namespace

Status ValidateUploadId(std::string_view bucket, std::string_view upload_id) {
  bool ok = upload_id.size() == 32;
  for (char c : upload_id) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) {
    return Status::NotFound("no such upload " + Printable(upload_id) + " in bucket " +
                            Printable(bucket));
  }
  return Status::OK();
}

Result<std::string> DiskStoreImpl::CreateUpload(std::string_view bucket, std::string_view key,
                                                const ObjectMeta& meta) {
  return Guarded("CreateUpload", [&]() -> Result<std::string> {
    SPARKIFY_RETURN_IF_ERROR(ValidateKey(key));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    const StoreShared& s = *shared_;
    if (!meta.server_side_encryption.empty() && meta.server_side_encryption != kAes256) {
      return Status::InvalidArgument("unknown server-side encryption " +
                                     Printable(meta.server_side_encryption));
    }
    std::string id = RandomHexName();
    ObjectMeta stored = meta;
    stored.key = std::string(key);
    stored.size = 0;
    stored.etag.clear();
    stored.parts_count = 0;
    stored.last_modified = s.Now();  // the initiation time
    std::string encoded = EncodeMeta(stored);
    std::string content = EncodeHeader(FileKind::kUpload, encoded,
                                       kFixedHeaderBytes + encoded.size(), 0);
    SPARKIFY_RETURN_IF_ERROR(
        CheckFreeSpace(s.tmp_dir, content.size() + 8192, s.options.min_free_bytes));
    // Build the upload directory in tmp/ and rename it into place whole.
    std::string stage = s.tmp_dir + "/" + id + ".upload";
    SPARKIFY_RETURN_IF_ERROR(MakeDir(stage));
    Status st = WriteFileAtomic(stage, stage + kUploadFile, stage, content, s.options.fsync);
    std::string uploads = s.BucketDir(bucket) + "/uploads";
    if (st.ok()) {
      std::unique_lock lock(b->mu);
      st = b->deleted ? Status::NotFound("bucket " + Printable(bucket) + " was deleted")
                      : RenamePath(stage, uploads + "/" + id);
    }
    if (!st.ok()) {
      (void)RemoveTree(stage);
      return st;
    }
    if (s.options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(uploads));
    return id;
  });
}

Result<UploadInfo> DiskStoreImpl::GetUploadIn(const std::string& bucket,
                                              std::string_view upload_id) {
  SPARKIFY_RETURN_IF_ERROR(ValidateUploadId(bucket, upload_id));
  auto opened = OpenStoreFile(shared_->UploadDir(bucket, upload_id) + kUploadFile,
                              FileKind::kUpload);
  if (!opened.ok()) {
    if (!opened.status().IsNotFound()) return opened.status();
    return Status::NotFound("no such upload " + std::string(upload_id) + " in bucket " +
                            Printable(bucket));
  }
  UploadInfo info;
  info.upload_id = std::string(upload_id);
  info.key = opened->meta.key;
  info.initiated = opened->meta.last_modified;
  info.meta = std::move(opened->meta);
  return info;
}

Result<UploadInfo> DiskStoreImpl::GetUpload(std::string_view bucket, std::string_view upload_id) {
  return Guarded("GetUpload", [&]() -> Result<UploadInfo> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    return GetUploadIn(b->name, upload_id);
  });
}

Result<std::vector<UploadInfo>> DiskStoreImpl::ListUploads(std::string_view bucket) {
  return Guarded("ListUploads", [&]() -> Result<std::vector<UploadInfo>> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_ASSIGN_OR_RETURN(auto ids, ListDir(shared_->BucketDir(bucket) + "/uploads"));
    std::vector<UploadInfo> out;
    for (const std::string& id : ids) {
      auto info = GetUploadIn(b->name, id);
      if (info.ok()) {
        out.push_back(std::move(info).value());
      } else if (!info.status().IsNotFound()) {
        spdlog::warn("disk store: skipping upload {}: {}", id, info.status().ToString());
      }
    }
    std::sort(out.begin(), out.end(), [](const UploadInfo& a, const UploadInfo& c) {
      return a.key != c.key ? a.key < c.key : a.initiated < c.initiated;
    });
    return out;
  });
}

Result<std::unique_ptr<ObjectWriter>> DiskStoreImpl::NewPartWriter(std::string_view bucket,
                                                                   std::string_view upload_id,
                                                                   int part_number) {
  return Guarded("NewPartWriter", [&]() -> Result<std::unique_ptr<ObjectWriter>> {
    if (part_number < 1 || part_number > kMaxPartNumber) {
      return Status::InvalidArgument("part number " + std::to_string(part_number) +
                                     " is outside 1..10000");
    }
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_ASSIGN_OR_RETURN(UploadInfo info, GetUploadIn(b->name, upload_id));
    return MakeWriter(shared_, std::move(b), info.key, info.upload_id, part_number,
                      info.meta.server_side_encryption == kAes256);
  });
}

Result<std::vector<PartInfo>> DiskStoreImpl::ListParts(std::string_view bucket,
                                                       std::string_view upload_id) {
  return Guarded("ListParts", [&]() -> Result<std::vector<PartInfo>> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_ASSIGN_OR_RETURN(UploadInfo info, GetUploadIn(b->name, upload_id));
    std::string dir = shared_->UploadDir(bucket, upload_id);
    auto names = ListDir(dir);
    if (!names.ok() && names.status().IsNotFound()) return std::vector<PartInfo>{};
    if (!names.ok()) return names.status();
    std::vector<PartInfo> parts;
    for (const std::string& name : *names) {
      if (name.rfind("part-", 0) != 0) continue;
      auto opened = OpenStoreFile(dir + "/" + name, FileKind::kPart);
      if (!opened.ok()) {
        if (!opened.status().IsNotFound()) {
          spdlog::warn("disk store: skipping part: {}", opened.status().ToString());
        }
        continue;
      }
      parts.push_back(PartInfo{opened->part_number, opened->meta.size, opened->meta.etag,
                               opened->meta.last_modified});
    }
    std::sort(parts.begin(), parts.end(),
              [](const PartInfo& a, const PartInfo& c) { return a.number < c.number; });
    return parts;
  });
}

namespace {

using PartList = std::vector<std::pair<int, std::string>>;

// NotFound (NoSuchUpload) for an upload a racing Complete or Abort removed.
Status UploadGone(std::string_view bucket, std::string_view upload_id) {
  return Status::NotFound("no such upload " + std::string(upload_id) + " in bucket " +
                          Printable(bucket) + " (completed or aborted meanwhile)");
}

// What checking the part list found: each part's ETag, and their binary MD5s concatenated
// (the object's ETag is their MD5).
struct CheckedParts {
  std::vector<std::string> etags;
  std::string md5s;
};

// The listed parts before anything is written: numbers ascending and in 1..10000, each part
// uploaded with the listed ETag, all but the last at least min_part_size. One part file is
// open at a time: there may be 10,000.
Result<CheckedParts> CheckParts(std::string_view bucket, std::string_view upload_id,
                                const std::string& dir, const PartList& parts,
                                uint64_t min_part_size) {
  if (parts.empty()) return Status::InvalidArgument("MalformedXML: the part list is empty");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].first <= parts[i - 1].first) {
      return Status::InvalidArgument("InvalidPartOrder: part " + std::to_string(parts[i].first) +
                                     " is listed after part " + std::to_string(parts[i - 1].first));
    }
  }
  CheckedParts out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& [number, etag] = parts[i];
    std::string part_name = "part " + std::to_string(number);
    if (number < 1 || number > kMaxPartNumber) {
      return Status::InvalidArgument("InvalidPart: " + part_name + " is outside 1..10000");
    }
    auto opened = OpenStoreFile(dir + "/" + PartFileName(number), FileKind::kPart);
    if (!opened.ok() && opened.status().IsNotFound()) {
      // A racing Complete or Abort removes the whole upload: that is NoSuchUpload, not a
      // part the client forgot.
      if (!PathExists(dir + kUploadFile)) return UploadGone(bucket, upload_id);
      return Status::InvalidArgument("InvalidPart: " + part_name + " was not uploaded");
    }
    if (!opened.ok()) return opened.status();
    if (NormalizeEtag(etag) != NormalizeEtag(opened->meta.etag)) {
      return Status::InvalidArgument("InvalidPart: " + part_name + " has ETag " +
                                     opened->meta.etag + ", not " + Printable(etag));
    }
    if (i + 1 < parts.size() && opened->meta.size < min_part_size) {
      return Status::InvalidArgument(
          "EntityTooSmall: " + part_name + " is " + std::to_string(opened->meta.size) +
          " bytes, below the minimum of " + std::to_string(min_part_size));
    }
    auto raw = HexDecode(opened->meta.etag);
    if (!raw || raw->size() != 16) {
      return Status::Corruption("part file of " + part_name + " has a malformed ETag");
    }
    out.md5s += *raw;
    out.etags.push_back(opened->meta.etag);
  }
  return out;
}

// The parts' data in order into `staged`, sealed under a new data key (its wrapped form in
// *seal_info) when `seal`; the parts' sizes. A part replaced since CheckParts is refused.
Result<std::vector<uint64_t>> Concatenate(const StoreShared& s, std::string_view bucket,
                                          std::string_view upload_id, const std::string& dir,
                                          const PartList& parts,
                                          const std::vector<std::string>& etags, bool seal,
                                          SealInfo* seal_info, StagedFile* staged) {
  std::optional<Sealer> sealer;
  if (seal) {
    SPARKIFY_ASSIGN_OR_RETURN(auto master, s.keys->GetOrCreate());
    auto [data_key, key_info] = master->NewDataKey();
    sealer.emplace(std::move(data_key));
    *seal_info = std::move(key_info);
  }
  std::vector<uint64_t> part_sizes;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string path = dir + "/" + PartFileName(parts[i].first);
    auto f = OpenStoreFile(path, FileKind::kPart);
    if (!f.ok() && f.status().IsNotFound()) return UploadGone(bucket, upload_id);
    if (!f.ok()) return f.status();
    if (f->meta.etag != etags[i]) {
      return Status::InvalidArgument("InvalidPart: part " + std::to_string(parts[i].first) +
                                     " was replaced during completion");
    }
    part_sizes.push_back(f->meta.size);
    if (seal) {
      // Each part has its own data key: decrypted and sealed again under the object's.
      SPARKIFY_RETURN_IF_ERROR(ResealInto(s, std::move(*f), path, &*sealer, staged));
    } else if (f->header.sealed) {
      return Status::Corruption("bad part file " + path + ": encrypted in a plain upload");
    } else {
      SPARKIFY_RETURN_IF_ERROR(
          staged->AppendFrom(f->fd.get(), f->header.data_offset, f->header.data_len, path));
    }
  }
  if (seal) {
    SPARKIFY_RETURN_IF_ERROR(
        sealer->Finish([&](std::string_view sealed) { return staged->Append(sealed); }));
  }
  return part_sizes;
}

}  // namespace

Result<ObjectMeta> DiskStoreImpl::CompleteUpload(
    std::string_view bucket, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts, uint64_t min_part_size,
    const WriteCondition& condition) {
  return Guarded("CompleteUpload", [&]() -> Result<ObjectMeta> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_ASSIGN_OR_RETURN(UploadInfo info, GetUploadIn(b->name, upload_id));
    const StoreShared& s = *shared_;
    // First check the whole list, then concatenate.
    std::string dir = s.UploadDir(bucket, upload_id);
    SPARKIFY_ASSIGN_OR_RETURN(CheckedParts checked,
                              CheckParts(bucket, upload_id, dir, parts, min_part_size));
    StagedFile staged(s.tmp_dir, s.options.fsync, s.options.min_free_bytes);
    const bool seal = info.meta.server_side_encryption == kAes256;
    SealInfo seal_info;
    SPARKIFY_ASSIGN_OR_RETURN(
        std::vector<uint64_t> part_sizes,
        Concatenate(s, bucket, upload_id, dir, parts, checked.etags, seal, &seal_info, &staged));
    ObjectMeta meta = info.meta;
    meta.key = info.key;
    meta.size = 0;
    for (uint64_t part_size : part_sizes) meta.size += part_size;
    meta.etag = HexEncode(Md5(checked.md5s)) + "-" + std::to_string(parts.size());
    meta.parts_count = static_cast<int>(parts.size());
    meta.part_sizes = std::move(part_sizes);
    meta.checksums.clear();  // whole-object checksums of a multipart object are not known
    meta.last_modified = s.Now();
    SPARKIFY_RETURN_IF_ERROR(
        staged.Finish(FileKind::kObject, EncodeMeta(meta, 0, seal ? &seal_info : nullptr), seal));
    std::string trash;
    {
      std::unique_lock lock(b->mu);
      if (b->deleted) return Status::NotFound("bucket " + Printable(bucket) + " was deleted");
      // Another Complete or an Abort may have won meanwhile.
      if (!PathExists(dir + kUploadFile)) return UploadGone(bucket, upload_id);
      SPARKIFY_RETURN_IF_ERROR(CheckConditionLocked(*b, meta.key, condition));
      // The object first: a crash between the two renames leaves the upload to complete again.
      SPARKIFY_RETURN_IF_ERROR(PublishObjectLocked(s, *b, staged, meta));
      SPARKIFY_ASSIGN_OR_RETURN(trash, MoveToTrashLocked(dir));
      // The record a retry is answered from. Without it (a crash now, a failed write) a
      // retry answers NoSuchUpload, which is what it answered before records existed.
      Status kept = MakeDir(dir);
      if (kept.ok()) {
        kept = WriteFileAtomic(s.tmp_dir, dir + kCompletedFile, dir,
                               EncodeRecord({meta.key, meta.etag, PartsFingerprint(parts),
                                             UnixNs(meta.last_modified)}),
                               s.options.fsync);
      }
      if (!kept.ok()) spdlog::warn("disk store: completion record: {}", kept.ToString());
    }
    if (s.options.fsync) {
      SPARKIFY_RETURN_IF_ERROR(SyncDir(s.ObjectDir(bucket, Sha256Hex(meta.key))));
      SPARKIFY_RETURN_IF_ERROR(SyncDir(s.BucketDir(bucket) + "/uploads"));
    }
    Status st = RemoveTree(trash);
    if (!st.ok()) spdlog::warn("disk store: {}", st.ToString());
    return meta;
  });
}

Result<ObjectMeta> DiskStoreImpl::CompletedUpload(
    std::string_view bucket, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts) {
  return Guarded("CompletedUpload", [&]() -> Result<ObjectMeta> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_RETURN_IF_ERROR(ValidateUploadId(bucket, upload_id));
    auto not_found = [&] {
      return Status::NotFound("no such upload " + std::string(upload_id) + " in bucket " +
                              Printable(bucket));
    };
    auto record = ReadRecord(shared_->UploadDir(bucket, upload_id) + kCompletedFile);
    if (!record.ok()) {
      if (!record.status().IsNotFound()) {
        spdlog::warn("disk store: {}", record.status().ToString());
      }
      return not_found();
    }
    if (record->parts != PartsFingerprint(parts)) return not_found();
    auto current = Head(bucket, record->key);
    if (!current.ok()) return current.status().IsNotFound() ? not_found() : current.status();
    if (current->etag != record->etag) return not_found();
    return current;
  });
}

Status DiskStoreImpl::AbortUpload(std::string_view bucket, std::string_view upload_id) {
  return Guarded("AbortUpload", [&]() -> Status {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    SPARKIFY_RETURN_IF_ERROR(ValidateUploadId(bucket, upload_id));
    std::string dir = shared_->UploadDir(bucket, upload_id);
    std::string trash;
    {
      std::unique_lock lock(b->mu);
      if (b->deleted || !PathExists(dir + kUploadFile)) {
        return Status::NotFound("no such upload " + std::string(upload_id) + " in bucket " +
                                Printable(bucket));
      }
      SPARKIFY_ASSIGN_OR_RETURN(trash, MoveToTrashLocked(dir));
    }
    if (shared_->options.fsync) {
      SPARKIFY_RETURN_IF_ERROR(SyncDir(shared_->BucketDir(bucket) + "/uploads"));
    }
    Status st = RemoveTree(trash);
    if (!st.ok()) spdlog::warn("disk store: {}", st.ToString());
    return Status::OK();
  });
}

Result<int> DiskStoreImpl::AbortUploadsInitiatedBefore(TimePoint cutoff) {
  int aborted = 0;
  for (const BucketInfo& bucket : ListBuckets()) {
    auto uploads = ListUploads(bucket.name);
    if (!uploads.ok()) {
      if (uploads.status().IsNotFound()) continue;  // the bucket went away meanwhile
      return uploads.status();
    }
    for (const UploadInfo& u : *uploads) {
      if (u.initiated >= cutoff) continue;
      Status st = AbortUpload(bucket.name, u.upload_id);
      if (st.IsNotFound()) continue;  // completed or aborted meanwhile
      SPARKIFY_RETURN_IF_ERROR(st);
      ++aborted;
    }
    SPARKIFY_RETURN_IF_ERROR(ForgetCompletedBefore(bucket.name, cutoff));
  }
  return aborted;
}

Status DiskStoreImpl::ForgetCompletedBefore(const std::string& bucket, TimePoint cutoff) {
  return Guarded("ForgetCompletedBefore", [&]() -> Status {
    auto b = FindBucket(bucket);
    if (!b.ok()) return b.status().IsNotFound() ? Status::OK() : b.status();
    auto ids = ListDir(shared_->BucketDir(bucket) + "/uploads");
    if (!ids.ok()) return ids.status().IsNotFound() ? Status::OK() : ids.status();
    for (const std::string& id : *ids) {
      std::string dir = shared_->UploadDir(bucket, id);
      auto record = ReadRecord(dir + kCompletedFile);
      if (!record.ok()) continue;  // an upload in progress (or one being completed)
      if (record->completed_unix_ns >= UnixNs(cutoff)) continue;
      std::string trash;
      {
        std::unique_lock lock((*b)->mu);
        if ((*b)->deleted) return Status::OK();
        if (PathExists(dir + kUploadFile)) continue;
        SPARKIFY_ASSIGN_OR_RETURN(trash, MoveToTrashLocked(dir));
      }
      Status st = RemoveTree(trash);
      if (!st.ok()) spdlog::warn("disk store: {}", st.ToString());
    }
    return Status::OK();
  });
}

}  // namespace sparkify::diskstore::internal
