// Objects: writers (of objects and of multipart parts), readers, head, delete and list.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "common/crypto.h"
#include "diskstore/disk_store_impl.h"

namespace sparkify::store::internal {
namespace {

class WriterImpl final : public ObjectWriter {
 public:
  WriterImpl(std::shared_ptr<const StoreShared> shared, std::shared_ptr<Bucket> bucket,
             std::string key, std::string upload_id, int part_number)
      : shared_(std::move(shared)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        upload_id_(std::move(upload_id)),
        part_number_(part_number),
        staged_(shared_->tmp_dir, shared_->options.fsync, shared_->options.min_free_bytes) {}

  Status Append(std::string_view data) override {
    return Guarded("ObjectWriter::Append", [&]() -> Status {
      if (committed_) return Status::FailedPrecondition("append after Commit()");
      SPARKIFY_RETURN_IF_ERROR(staged_.Append(data));
      md5_.Update(data);
      return Status::OK();
    });
  }

  uint64_t bytes_written() const override { return staged_.size(); }

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
      meta.size = staged_.size();
      if (meta.etag.empty()) meta.etag = md5_.Hex();
      if (meta.last_modified == TimePoint{}) meta.last_modified = shared_->Now();
      auto result = part_number_ == 0 ? CommitObject(std::move(meta), condition)
                                      : CommitPart(std::move(meta));
      if (!result.ok()) staged_.Discard();
      return result;
    });
  }

 private:
  Result<ObjectMeta> CommitObject(ObjectMeta meta, const WriteCondition& condition) {
    SPARKIFY_RETURN_IF_ERROR(staged_.Finish(FileKind::kObject, EncodeMeta(meta)));
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
    SPARKIFY_RETURN_IF_ERROR(staged_.Finish(FileKind::kPart, EncodeMeta(meta, part_number_)));
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
  RunningMd5 md5_;
  bool committed_ = false;
};

class ReaderImpl final : public ObjectReader {
 public:
  ReaderImpl(OpenedFile file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}

  const ObjectMeta& meta() const override { return file_.meta; }
  int fd() const override { return file_.fd.get(); }
  uint64_t data_offset() const override { return file_.header.data_offset; }

  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
    return Guarded("ObjectReader::ReadAt", [&]() -> Result<size_t> {
      uint64_t size = file_.header.data_len;
      if (offset >= size) return size_t{0};
      n = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
      SPARKIFY_ASSIGN_OR_RETURN(size_t got,
                                PReadFull(file_.fd.get(), buf, n, data_offset() + offset, path_));
      if (got < n) {
        return Status::Corruption("object file " + path_ + " is shorter than its header says");
      }
      return got;
    });
  }

 private:
  OpenedFile file_;
  std::string path_;
};

}  // namespace

std::unique_ptr<ObjectWriter> MakeWriter(std::shared_ptr<const StoreShared> shared,
                                         std::shared_ptr<Bucket> bucket, std::string key,
                                         std::string upload_id, int part_number) {
  return std::make_unique<WriterImpl>(std::move(shared), std::move(bucket), std::move(key),
                                      std::move(upload_id), part_number);
}

// Clients send ETags quoted or not, in any case.
std::string NormalizeEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  std::string out(etag);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
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
                                                               std::string_view key) {
  return Guarded("NewWriter", [&]() -> Result<std::unique_ptr<ObjectWriter>> {
    SPARKIFY_RETURN_IF_ERROR(ValidateKey(key));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    return MakeWriter(shared_, std::move(b), std::string(key), "", 0);
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
    return std::unique_ptr<ObjectReader>(
        std::make_unique<ReaderImpl>(std::move(opened).value(), std::move(path)));
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

}  // namespace sparkify::store::internal
