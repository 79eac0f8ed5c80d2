// Objects: writers (of objects and of multipart parts), readers, head, delete and list.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/crypto.h"
#include "common/strings.h"
#include "diskstore/internal/disk_store_impl.h"

namespace sparkify::diskstore::internal {
namespace {

// What a sealing writer holds: the data key's Sealer and the SealInfo for the metadata.
struct Sealing {
  std::unique_ptr<Sealer> sealer;
  SealInfo info;
};

class WriterImpl final : public ObjectWriter {
 public:
  WriterImpl(std::shared_ptr<const StoreShared> shared, std::shared_ptr<Bucket> bucket,
             std::string key, std::string upload_id, int part_number,
             std::optional<Sealing> sealing)
      : shared_(std::move(shared)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        upload_id_(std::move(upload_id)),
        part_number_(part_number),
        staged_(shared_->tmp_dir, shared_->options.fsync, shared_->options.min_free_bytes),
        sealing_(std::move(sealing)) {}

  Status Append(std::string_view data) override {
    return Guarded("ObjectWriter::Append", [&]() -> Status {
      if (committed_) return Status::FailedPrecondition("append after Commit()");
      if (sealing_) {
        SPARKIFY_RETURN_IF_ERROR(sealing_->sealer->Append(data, StagedSink()));
      } else {
        SPARKIFY_RETURN_IF_ERROR(staged_.Append(data));
      }
      md5_.Update(data);
      return Status::OK();
    });
  }

  uint64_t bytes_written() const override {
    return sealing_ ? sealing_->sealer->plain_size() : staged_.size();
  }

  std::string Md5Hex() override {
    try {
      return md5_.Hex();
    } catch (const std::exception& e) {
      spdlog::error("ObjectWriter::Md5Hex: {}", e.what());
      return "";
    }
  }

  using ObjectWriter::Commit;
  Result<ObjectMeta> Commit(ObjectMeta meta, const WriteCondition& condition) override {
    return Guarded("ObjectWriter::Commit", [&]() -> Result<ObjectMeta> {
      if (committed_) return Status::FailedPrecondition("Commit() called twice");
      committed_ = true;
      meta.key = key_;
      meta.size = bytes_written();
      meta.server_side_encryption = sealing_ ? kAes256 : "";
      if (meta.etag.empty()) meta.etag = md5_.Hex();
      if (meta.last_modified == TimePoint{}) meta.last_modified = shared_->Now();
      Status sealed = sealing_ ? sealing_->sealer->Finish(StagedSink()) : Status::OK();
      auto result = !sealed.ok()        ? Result<ObjectMeta>(sealed)
                    : part_number_ == 0 ? CommitObject(std::move(meta), condition)
                                        : CommitPart(std::move(meta));
      if (!result.ok()) staged_.Discard();
      return result;
    });
  }

 private:
  Sealer::Sink StagedSink() {
    return [this](std::string_view sealed) { return staged_.Append(sealed); };
  }

  Status FinishStaged(FileKind kind, const ObjectMeta& meta) {
    const SealInfo* seal = sealing_ ? &sealing_->info : nullptr;
    return staged_.Finish(kind, EncodeMeta(meta, part_number_, seal), seal != nullptr);
  }

  Result<ObjectMeta> CommitObject(ObjectMeta meta, const WriteCondition& condition) {
    SPARKIFY_RETURN_IF_ERROR(FinishStaged(FileKind::kObject, meta));
    {
      std::unique_lock lock(bucket_->mu);
      if (bucket_->deleted) {
        return Status::NotFound("bucket " + Printable(bucket_->name) + " was deleted");
      }
      SPARKIFY_RETURN_IF_ERROR(CheckConditionLocked(*bucket_, key_, condition));
      SPARKIFY_RETURN_IF_ERROR(PublishObjectLocked(*shared_, *bucket_, staged_, meta));
    }
    if (shared_->options.fsync) {
      SPARKIFY_RETURN_IF_ERROR(SyncDir(shared_->ObjectDir(bucket_->name, Sha256Hex(key_))));
    }
    return meta;
  }

  Result<ObjectMeta> CommitPart(ObjectMeta meta) {
    meta.parts_count = 0;
    SPARKIFY_RETURN_IF_ERROR(FinishStaged(FileKind::kPart, meta));
    std::string dir = shared_->UploadDir(bucket_->name, upload_id_);
    char name[16];
    std::snprintf(name, sizeof(name), "part-%05d", part_number_);
    {
      std::unique_lock lock(bucket_->mu);
      Status st = bucket_->deleted
                      ? Status::NotFound("bucket " + Printable(bucket_->name) + " was deleted")
                      : RenamePath(staged_.temp_path(), dir + "/" + name);
      if (st.IsNotFound()) {
        return Status::NotFound("no such upload " + upload_id_ + " in bucket " +
                                Printable(bucket_->name) + " (completed or aborted meanwhile)");
      }
      SPARKIFY_RETURN_IF_ERROR(st);
      staged_.MarkPublished();
    }
    if (shared_->options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(dir));
    return meta;
  }

  std::shared_ptr<const StoreShared> shared_;
  std::shared_ptr<Bucket> bucket_;
  std::string key_;
  std::string upload_id_;
  int part_number_;
  StagedFile staged_;
  std::optional<Sealing> sealing_;
  RunningMd5 md5_;
  bool committed_ = false;
};

class ReaderImpl final : public ObjectReader {
 public:
  ReaderImpl(OpenedFile file, std::string path, std::unique_ptr<Unsealer> unsealer)
      : file_(std::move(file)), path_(std::move(path)), unsealer_(std::move(unsealer)) {}

  const ObjectMeta& meta() const override { return file_.meta; }
  int fd() const override { return unsealer_ ? -1 : file_.fd.get(); }
  uint64_t data_offset() const override { return file_.header.data_offset; }

  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
    return Guarded("ObjectReader::ReadAt", [&]() -> Result<size_t> {
      uint64_t size = file_.meta.size;
      if (offset >= size) return size_t{0};
      n = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
      if (unsealer_) return ReadSealed(offset, buf, n);
      SPARKIFY_ASSIGN_OR_RETURN(size_t got,
                                PReadFull(file_.fd.get(), buf, n, data_offset() + offset, path_));
      if (got < n) return Shorter();
      return got;
    });
  }

 private:
  Status Shorter() const {
    return Status::Corruption("object file " + path_ + " is shorter than its header says");
  }

  // Decrypts the records [offset, offset + n) falls in, keeping the last for the next read.
  Result<size_t> ReadSealed(uint64_t offset, char* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
      uint64_t at = offset + done;
      uint64_t index = at / kSealRecordBytes;
      if (index != cached_index_) {
        cached_index_ = UINT64_MAX;
        sealed_.resize(static_cast<size_t>(unsealer_->SealedRecordBytes(index)));
        SPARKIFY_ASSIGN_OR_RETURN(size_t got,
                                  PReadFull(file_.fd.get(), sealed_.data(), sealed_.size(),
                                            data_offset() + unsealer_->RecordOffset(index), path_));
        if (got < sealed_.size()) return Shorter();
        SPARKIFY_RETURN_IF_ERROR(unsealer_->Open(index, sealed_, &plain_, path_));
        cached_index_ = index;
      }
      uint64_t within = at - index * kSealRecordBytes;
      size_t take = static_cast<size_t>(std::min<uint64_t>(n - done, plain_.size() - within));
      std::memcpy(buf + done, plain_.data() + within, take);
      done += take;
    }
    return done;
  }

  OpenedFile file_;
  std::string path_;
  std::unique_ptr<Unsealer> unsealer_;  // null for plain data
  std::string sealed_;                  // scratch: one stored record
  std::string plain_;                   // the record cached_index_, decrypted
  uint64_t cached_index_ = UINT64_MAX;
};

}  // namespace

Result<std::unique_ptr<ObjectWriter>> MakeWriter(std::shared_ptr<const StoreShared> shared,
                                                 std::shared_ptr<Bucket> bucket, std::string key,
                                                 std::string upload_id, int part_number,
                                                 bool encrypt) {
  std::optional<Sealing> sealing;
  if (encrypt) {
    SPARKIFY_ASSIGN_OR_RETURN(auto master, shared->keys->GetOrCreate());
    auto [data_key, info] = master->NewDataKey();
    sealing = Sealing{std::make_unique<Sealer>(std::move(data_key)), std::move(info)};
  }
  return std::unique_ptr<ObjectWriter>(
      std::make_unique<WriterImpl>(std::move(shared), std::move(bucket), std::move(key),
                                   std::move(upload_id), part_number, std::move(sealing)));
}

Result<std::unique_ptr<ObjectReader>> MakeReader(const StoreShared& shared, OpenedFile file,
                                                 std::string path) {
  std::unique_ptr<Unsealer> unsealer;
  if (file.header.sealed) {
    auto master = shared.keys->Get();
    if (!master.ok()) {
      return Status::FailedPrecondition("object file " + path + ": " + master.status().message());
    }
    SPARKIFY_ASSIGN_OR_RETURN(std::string data_key, (*master)->Unwrap(file.seal, path));
    unsealer = std::make_unique<Unsealer>(std::move(data_key), file.meta.size);
  }
  return std::unique_ptr<ObjectReader>(
      std::make_unique<ReaderImpl>(std::move(file), std::move(path), std::move(unsealer)));
}

// Clients send ETags quoted or not, in any case.
std::string NormalizeEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return AsciiLowerString(etag);
}

Status CheckConditionLocked(const Bucket& bucket, std::string_view key,
                            const WriteCondition& condition) {
  if (!condition.if_match && !condition.if_none_match) return Status::OK();
  const std::optional<ObjectMeta> current = bucket.index.Get(key);
  if (condition.if_none_match && current) {
    return Status::FailedPrecondition("PreconditionFailed: " + Printable(key) + " exists");
  }
  if (condition.if_match) {
    if (!current) return Status::NotFound("NoSuchKey: " + Printable(key) + " does not exist");
    if (*condition.if_match != "*" &&
        NormalizeEtag(*condition.if_match) != NormalizeEtag(current->etag)) {
      return Status::FailedPrecondition("PreconditionFailed: " + Printable(key) +
                                        " has another ETag");
    }
  }
  return Status::OK();
}

Status PublishObjectLocked(const StoreShared& shared, Bucket& bucket, StagedFile& staged,
                           const ObjectMeta& meta) {
  std::string hash = Sha256Hex(meta.key);
  std::string dir = shared.ObjectDir(bucket.name, hash);
  std::string path = dir + "/" + hash;
  Status st = RenamePath(staged.temp_path(), path);
  if (st.IsNotFound() && !PathExists(dir)) {
    // First object in this fan-out directory: make it, durably.
    SPARKIFY_RETURN_IF_ERROR(MakeDir(dir));
    if (shared.options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(shared.BucketDir(bucket.name) + "/objects"));
    st = RenamePath(staged.temp_path(), path);
  }
  SPARKIFY_RETURN_IF_ERROR(st);
  staged.MarkPublished();
  bucket.index.Put(meta);
  return Status::OK();
}

Result<std::unique_ptr<ObjectWriter>> DiskStoreImpl::NewWriter(std::string_view bucket,
                                                               std::string_view key, bool encrypt) {
  return Guarded("NewWriter", [&]() -> Result<std::unique_ptr<ObjectWriter>> {
    SPARKIFY_RETURN_IF_ERROR(ValidateKey(key));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    return MakeWriter(shared_, std::move(b), std::string(key), "", 0, encrypt);
  });
}

Result<std::unique_ptr<ObjectReader>> DiskStoreImpl::Open(std::string_view bucket,
                                                          std::string_view key) {
  return Guarded("Open", [&]() -> Result<std::unique_ptr<ObjectReader>> {
    SPARKIFY_RETURN_IF_ERROR(ValidateKey(key));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    std::string path = shared_->ObjectPath(bucket, key);
    auto opened = OpenStoreFile(path, FileKind::kObject);
    if (!opened.ok()) {
      if (opened.status().IsNotFound()) {
        return Status::NotFound("no such key " + Printable(key) + " in bucket " +
                                Printable(bucket));
      }
      spdlog::error("disk store: {}", opened.status().ToString());
      return opened.status();
    }
    if (opened->meta.key != key) {
      return Status::Corruption("object file " + path + " holds another key " +
                                Printable(opened->meta.key));
    }
    auto reader = MakeReader(*shared_, std::move(opened).value(), path);
    if (!reader.ok()) spdlog::error("disk store: {}", reader.status().ToString());
    return reader;
  });
}

Result<ObjectMeta> DiskStoreImpl::Head(std::string_view bucket, std::string_view key) {
  SPARKIFY_ASSIGN_OR_RETURN(auto reader, Open(bucket, key));
  return reader->meta();
}

Status DiskStoreImpl::Delete(std::string_view bucket, std::string_view key) {
  return Guarded("Delete", [&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(ValidateKey(key));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    std::string hash = Sha256Hex(key);
    std::string dir = shared_->ObjectDir(bucket, hash);
    bool removed = false;
    {
      std::unique_lock lock(b->mu);
      if (b->deleted) return Status::NotFound("no such bucket " + Printable(bucket));
      SPARKIFY_RETURN_IF_ERROR(RemoveFile(dir + "/" + hash, &removed));
      b->index.Erase(key);
    }
    return removed && shared_->options.fsync ? SyncDir(dir) : Status::OK();
  });
}

// Deletes `key` if it was last written before `cutoff`; false if it was not (or is gone).
Result<bool> DiskStoreImpl::ExpireObject(const std::string& bucket, const std::string& key,
                                         TimePoint cutoff) {
  return Guarded("ExpireObject", [&]() -> Result<bool> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    std::string hash = Sha256Hex(key);
    std::string dir = shared_->ObjectDir(bucket, hash);
    bool removed = false;
    {
      std::unique_lock lock(b->mu);
      auto now = b->index.Get(key);
      if (b->deleted || !now || now->last_modified >= cutoff) return false;
      SPARKIFY_RETURN_IF_ERROR(RemoveFile(dir + "/" + hash, &removed));
      b->index.Erase(key);
    }
    if (removed && shared_->options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(dir));
    return removed;
  });
}

Result<int> DiskStoreImpl::ExpireObjects(std::string_view prefix, TimePoint cutoff) {
  int expired = 0;
  for (const BucketInfo& info : ListBuckets()) {
    ListOptions page;
    page.prefix = std::string(prefix);
    for (;;) {
      auto listed = List(info.name, page);
      if (!listed.ok()) {
        if (listed.status().IsNotFound()) break;  // the bucket went away meanwhile
        return listed.status();
      }
      for (const ObjectMeta& o : listed->objects) {
        if (o.last_modified >= cutoff) continue;
        SPARKIFY_ASSIGN_OR_RETURN(bool gone, ExpireObject(info.name, o.key, cutoff));
        if (gone) ++expired;
      }
      if (!listed->truncated) break;
      page.start_after = listed->last_key;
    }
  }
  return expired;
}

Result<ListResult> DiskStoreImpl::List(std::string_view bucket, const ListOptions& options) {
  return Guarded("List", [&]() -> Result<ListResult> {
    if (options.max_keys < 0) {
      return Status::InvalidArgument("max_keys is negative: " + std::to_string(options.max_keys));
    }
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    ListOptions clamped = options;
    clamped.max_keys = std::min(options.max_keys, 1000);
    std::shared_lock lock(b->mu);
    return b->index.List(clamped);
  });
}

}  // namespace sparkify::diskstore::internal
