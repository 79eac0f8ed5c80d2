// DiskStore::Open, shared helpers, buckets and bucket documents.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "diskstore/internal/disk_store_impl.h"

namespace sparkify::diskstore {

Result<std::unique_ptr<DiskStore>> DiskStore::Open(const DiskStoreOptions& options) {
  return internal::Guarded("DiskStore::Open", [&]() -> Result<std::unique_ptr<DiskStore>> {
    if (options.data_dir.empty()) return Status::InvalidArgument("DiskStore: data_dir is empty");
    if (options.clock == nullptr) return Status::InvalidArgument("DiskStore: clock is null");
    auto shared = std::make_shared<internal::StoreShared>();
    shared->options = options;
    shared->root = options.data_dir;
    while (shared->root.size() > 1 && shared->root.back() == '/') shared->root.pop_back();
    shared->tmp_dir = shared->root + "/tmp";
    shared->buckets_dir = shared->root + "/buckets";
    shared->quarantine_dir = shared->root + "/quarantine";
    shared->keys = std::make_shared<internal::KeyRing>(
        options.encryption_key_file.empty() ? shared->root + "/sse-s3.key"
                                            : options.encryption_key_file,
        shared->root, shared->tmp_dir, options.fsync);
    auto store = std::make_unique<internal::DiskStoreImpl>(std::move(shared));
    SPARKIFY_RETURN_IF_ERROR(store->Init());
    return std::unique_ptr<DiskStore>(std::move(store));
  });
}

namespace internal {
namespace {

Status ValidateBucketName(std::string_view bucket) {
  // The caller applies S3's rules; this only guarantees the name is one safe path component.
  if (bucket.empty() || bucket.size() > 255 || bucket == "." || bucket == ".." ||
      bucket.find('/') != std::string_view::npos || bucket.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("invalid bucket name " + Printable(bucket));
  }
  return Status::OK();
}

Status ValidateDocumentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  return ok ? Status::OK()
            : Status::InvalidArgument("invalid bucket document name " + Printable(name));
}

}  // namespace

std::string StoreShared::BucketDir(std::string_view bucket) const {
  return buckets_dir + "/" + std::string(bucket);
}

std::string StoreShared::ObjectDir(std::string_view bucket, std::string_view key_hash) const {
  return BucketDir(bucket) + "/objects/" + std::string(key_hash.substr(0, 2));
}

std::string StoreShared::ObjectPath(std::string_view bucket, std::string_view key) const {
  std::string hash = Sha256Hex(key);
  return ObjectDir(bucket, hash) + "/" + hash;
}

std::string StoreShared::UploadDir(std::string_view bucket, std::string_view upload_id) const {
  return BucketDir(bucket) + "/uploads/" + std::string(upload_id);
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument("object key is " + std::to_string(key.size()) +
                                   " bytes long, more than " + std::to_string(kMaxKeyBytes));
  }
  return Status::OK();
}

std::string Printable(std::string_view key) {
  constexpr size_t kMaxShown = 200;
  std::string out = "\"";
  for (size_t i = 0; i < key.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (key.size() > kMaxShown) out += "...";
  return out + "\"";
}

Status DiskStoreImpl::Init() {
  const StoreShared& s = *shared_;
  SPARKIFY_RETURN_IF_ERROR(MakeDirs(s.root, s.options.fsync));
  // One process per data dir: two would each keep their own index of the same files.
  auto lock = LockFile(s.root + "/LOCK");
  if (!lock.ok() && lock.status().code() == Status::Code::kFailedPrecondition) {
    return Status::FailedPrecondition("data dir " + s.root +
                                      " is in use by another sparkify store process");
  }
  SPARKIFY_RETURN_IF_ERROR(lock.status());
  lock_ = std::move(*lock);
  // Objects are private: nobody but the store's user reads them from the disk either.
  struct stat st {};
  if (::stat(s.root.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    if (::chmod(s.root.c_str(), st.st_mode & 0700) != 0) {
      return Status::IOError("cannot make data dir " + s.root +
                             " private (chmod 0700): " + std::strerror(errno));
    }
    spdlog::info("disk store {}: made the data dir private (mode 0700)", s.root);
  }
  for (const std::string& dir : {s.tmp_dir, s.buckets_dir}) {
    SPARKIFY_RETURN_IF_ERROR(MakeDir(dir));
  }
  // Whatever is in tmp/ was never acknowledged (or is a deleted bucket or upload).
  SPARKIFY_ASSIGN_OR_RETURN(auto leftovers, ListDir(s.tmp_dir));
  for (const std::string& name : leftovers) {
    SPARKIFY_RETURN_IF_ERROR(RemoveTree(s.tmp_dir + "/" + name));
  }
  if (!leftovers.empty()) {
    spdlog::info("disk store {}: removed {} leftover temp files", s.root, leftovers.size());
  }
  // A new data dir gets its format file, which also proves it writable now rather than at the
  // first PUT. An existing one is not rewritten: a store must start on a full disk (reads and
  // deletes work there), and the file does not change.
  constexpr std::string_view kFormat = R"({"format":"sparkify-diskstore","version":1})";
  auto format = ReadSmallFile(s.root + "/store.json");
  if (!format.ok() || *format != kFormat) {
    SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(s.tmp_dir, s.root + "/store.json", s.root,
                                             std::string(kFormat), s.options.fsync));
  }
  // Encrypted objects are refused at open without the key they need, not one by one later.
  SPARKIFY_RETURN_IF_ERROR(s.keys->CheckAtOpen());
  SPARKIFY_ASSIGN_OR_RETURN(auto names, ListDir(s.buckets_dir));
  for (const std::string& name : names) {
    auto bucket = LoadBucket(name);
    if (!bucket.ok()) return bucket.status();
    if (*bucket) buckets_.emplace(name, std::move(*bucket));
  }
  return Status::OK();
}

Result<std::shared_ptr<Bucket>> DiskStoreImpl::FindBucket(std::string_view bucket) {
  std::shared_lock lock(buckets_mu_);
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return Status::NotFound("no such bucket " + Printable(bucket));
  return it->second;
}

Status DiskStoreImpl::CreateBucket(std::string_view bucket) {
  return Guarded("CreateBucket", [&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(ValidateBucketName(bucket));
    const StoreShared& s = *shared_;
    std::unique_lock lock(buckets_mu_);
    if (buckets_.count(bucket) > 0) {
      return Status::AlreadyExists("bucket " + Printable(bucket) + " already exists");
    }
    SPARKIFY_RETURN_IF_ERROR(CheckFreeSpace(s.tmp_dir, 64 * 1024, s.options.min_free_bytes));
    // Build the whole directory in tmp/, then rename it into place: all or nothing.
    std::string stage = s.tmp_dir + "/" + RandomHexName() + ".bucket";
    auto fail = [&](Status st) {
      (void)RemoveTree(stage);
      return st;
    };
    for (const char* sub : {"", "/objects", "/uploads", "/docs"}) {
      Status st = MakeDir(stage + sub);
      if (!st.ok()) return fail(st);
    }
    auto created = s.Now();
    nlohmann::json doc = {
        {"name", std::string(bucket)},
        {"created_unix_ns",
         std::chrono::duration_cast<std::chrono::nanoseconds>(created.time_since_epoch()).count()}};
    // The objects/<aa> fan-out directories are made on first use (PublishObjectLocked).
    Status st = WriteFileAtomic(stage, stage + "/bucket.json", stage, doc.dump(), s.options.fsync);
    if (st.ok()) st = RenamePath(stage, s.BucketDir(bucket));
    if (!st.ok()) return fail(st);
    if (s.options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(s.buckets_dir));
    auto b = std::make_shared<Bucket>();
    b->name = std::string(bucket);
    b->created = created;
    buckets_.emplace(b->name, std::move(b));
    return Status::OK();
  });
}

Result<std::string> DiskStoreImpl::MoveToTrashLocked(const std::string& path) {
  std::string trash = shared_->tmp_dir + "/" + RandomHexName() + ".trash";
  SPARKIFY_RETURN_IF_ERROR(RenamePath(path, trash));
  return trash;
}

Status DiskStoreImpl::DeleteBucket(std::string_view bucket) {
  return Guarded("DeleteBucket", [&]() -> Status {
    const StoreShared& s = *shared_;
    std::string trash;
    {
      std::unique_lock lock(buckets_mu_);
      auto it = buckets_.find(bucket);
      if (it == buckets_.end()) return Status::NotFound("no such bucket " + Printable(bucket));
      std::shared_ptr<Bucket> b = it->second;
      std::unique_lock bucket_lock(b->mu);
      // Like S3, only objects make a bucket non-empty; uploads in progress are aborted.
      if (!b->index.empty()) {
        return Status::FailedPrecondition("bucket " + Printable(bucket) + " is not empty (" +
                                          std::to_string(b->index.size()) + " objects)");
      }
      SPARKIFY_ASSIGN_OR_RETURN(trash, MoveToTrashLocked(s.BucketDir(bucket)));
      b->deleted = true;
      buckets_.erase(it);
    }
    if (s.options.fsync) SPARKIFY_RETURN_IF_ERROR(SyncDir(s.buckets_dir));
    Status st = RemoveTree(trash);  // if this fails, the next Open() empties tmp/
    if (!st.ok()) spdlog::warn("disk store: {}", st.ToString());
    return Status::OK();
  });
}

Result<BucketInfo> DiskStoreImpl::GetBucket(std::string_view bucket) {
  return Guarded("GetBucket", [&]() -> Result<BucketInfo> {
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    return BucketInfo{b->name, b->created};
  });
}

std::vector<BucketInfo> DiskStoreImpl::ListBuckets() {
  try {
    std::shared_lock lock(buckets_mu_);
    std::vector<BucketInfo> out;
    out.reserve(buckets_.size());
    for (const auto& [name, b] : buckets_) out.push_back(BucketInfo{name, b->created});
    return out;
  } catch (const std::exception& e) {
    spdlog::error("ListBuckets: {}", e.what());
    return {};
  }
}

Status DiskStoreImpl::PutBucketDocument(std::string_view bucket, std::string_view name,
                                        std::string_view content) {
  return Guarded("PutBucketDocument", [&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(ValidateDocumentName(name));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    const StoreShared& s = *shared_;
    SPARKIFY_RETURN_IF_ERROR(CheckFreeSpace(s.tmp_dir, content.size(), s.options.min_free_bytes));
    SPARKIFY_ASSIGN_OR_RETURN(std::string tmp, WriteTempFile(s.tmp_dir, content, s.options.fsync));
    std::string docs = s.BucketDir(bucket) + "/docs";
    {
      std::unique_lock lock(b->mu);
      Status st = b->deleted ? Status::NotFound("bucket " + Printable(bucket) + " was deleted")
                             : RenamePath(tmp, docs + "/" + std::string(name));
      if (!st.ok()) {
        (void)RemoveFile(tmp);
        return st;
      }
    }
    return s.options.fsync ? SyncDir(docs) : Status::OK();
  });
}

Result<std::string> DiskStoreImpl::GetBucketDocument(std::string_view bucket,
                                                     std::string_view name) {
  return Guarded("GetBucketDocument", [&]() -> Result<std::string> {
    SPARKIFY_RETURN_IF_ERROR(ValidateDocumentName(name));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    auto content = ReadSmallFile(shared_->BucketDir(bucket) + "/docs/" + std::string(name));
    if (!content.ok() && content.status().IsNotFound()) {
      return Status::NotFound("bucket " + Printable(bucket) + " has no document " +
                              Printable(name));
    }
    return content;
  });
}

Status DiskStoreImpl::DeleteBucketDocument(std::string_view bucket, std::string_view name) {
  return Guarded("DeleteBucketDocument", [&]() -> Status {
    SPARKIFY_RETURN_IF_ERROR(ValidateDocumentName(name));
    SPARKIFY_ASSIGN_OR_RETURN(auto b, FindBucket(bucket));
    std::string docs = shared_->BucketDir(bucket) + "/docs";
    bool removed = false;
    {
      std::unique_lock lock(b->mu);
      if (b->deleted) return Status::NotFound("bucket " + Printable(bucket) + " was deleted");
      SPARKIFY_RETURN_IF_ERROR(RemoveFile(docs + "/" + std::string(name), &removed));
    }
    return removed && shared_->options.fsync ? SyncDir(docs) : Status::OK();
  });
}

}  // namespace internal
}  // namespace sparkify::diskstore
