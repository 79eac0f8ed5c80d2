// DiskStoreImpl: the DiskStore of disk_store.h, split over disk_store.cpp (open, buckets,
// documents), store_scan.cpp (index build at open), object_io.cpp (objects) and multipart.cpp.
// Thread-safe. Locking: buckets_mu_ guards the bucket map; each Bucket's mutex guards its index
// and is held exclusively around every rename or unlink inside the bucket's directory, so the
// index always agrees with the files and nothing lands in a bucket after it was deleted.
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "diskstore/disk_store.h"
#include "diskstore/internal/key_index.h"
#include "diskstore/internal/posix_file.h"
#include "diskstore/internal/sealing.h"
#include "diskstore/internal/staged_file.h"

namespace sparkify::diskstore::internal {

// Paths and options, shared with writers so that they may outlive the store object.
struct StoreShared {
  DiskStoreOptions options;
  std::string root;
  std::string tmp_dir;
  std::string buckets_dir;
  std::string quarantine_dir;
  std::shared_ptr<KeyRing> keys;  // the master key of encryption at rest

  std::string BucketDir(std::string_view bucket) const;
  // The fan-out directory and the file of a key: objects/<2 hex>/<sha256 hex>.
  std::string ObjectDir(std::string_view bucket, std::string_view key_hash) const;
  std::string ObjectPath(std::string_view bucket, std::string_view key) const;
  std::string UploadDir(std::string_view bucket, std::string_view upload_id) const;
  TimePoint Now() const { return options.clock->Now(); }
};

struct Bucket {
  std::string name;
  TimePoint created{};
  std::shared_mutex mu;
  KeyIndex index;        // guarded by mu
  bool deleted = false;  // guarded by mu
};

// Key validation and printing for messages.
Status ValidateKey(std::string_view key);
std::string Printable(std::string_view key);  // quoted, escaped, shortened
Status ValidateUploadId(std::string_view bucket, std::string_view upload_id);

// An ETag as compared: without quotes, lowercase (clients send them either way).
std::string NormalizeEtag(std::string_view etag);

// OK when `condition` holds for the current version of `key` (see WriteCondition).
// REQUIRES: bucket.mu held.
Status CheckConditionLocked(const Bucket& bucket, std::string_view key,
                            const WriteCondition& condition);

// Renames a finished staged object file over the key's file and indexes it.
// REQUIRES: bucket.mu held exclusively and !bucket.deleted.
Status PublishObjectLocked(const StoreShared& shared, Bucket& bucket, StagedFile& staged,
                           const ObjectMeta& meta);

// A writer of a new object version (part_number == 0) or of one part of an upload; when
// `encrypt`, sealed under a new data key from shared->keys.
Result<std::unique_ptr<ObjectWriter>> MakeWriter(std::shared_ptr<const StoreShared> shared,
                                                 std::shared_ptr<Bucket> bucket, std::string key,
                                                 std::string upload_id, int part_number,
                                                 bool encrypt);

// Opens an object-format file and checks its header; kind must match.
struct OpenedFile {
  UniqueFd fd;
  FileHeader header;
  ObjectMeta meta;
  int part_number = 0;
  SealInfo seal;  // when header.sealed
};
Result<OpenedFile> OpenStoreFile(const std::string& path, FileKind kind);

// A reader of an opened object or part file (decrypting a sealed one).
Result<std::unique_ptr<ObjectReader>> MakeReader(const StoreShared& shared, OpenedFile file,
                                                 std::string path);

// Runs f, turning any exception into an Internal status (or `fallback` for plain values).
template <typename F>
auto Guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + ": " + e.what());
  } catch (...) {
    return Status::Internal(std::string(what) + ": unknown exception");
  }
}

class DiskStoreImpl final : public DiskStore {
 public:
  explicit DiskStoreImpl(std::shared_ptr<const StoreShared> shared) : shared_(std::move(shared)) {}
  // Creates the directories, empties tmp/, loads every bucket and builds its index.
  Status Init();

  Status CreateBucket(std::string_view bucket) override;
  Status DeleteBucket(std::string_view bucket) override;
  Result<BucketInfo> GetBucket(std::string_view bucket) override;
  std::vector<BucketInfo> ListBuckets() override;
  Status PutBucketDocument(std::string_view bucket, std::string_view name,
                           std::string_view content) override;
  Result<std::string> GetBucketDocument(std::string_view bucket, std::string_view name) override;
  Status DeleteBucketDocument(std::string_view bucket, std::string_view name) override;

  Result<std::unique_ptr<ObjectWriter>> NewWriter(std::string_view bucket, std::string_view key,
                                                  bool encrypt) override;
  Result<std::unique_ptr<ObjectReader>> Open(std::string_view bucket,
                                             std::string_view key) override;
  Result<ObjectMeta> Head(std::string_view bucket, std::string_view key) override;
  Status Delete(std::string_view bucket, std::string_view key) override;
  Result<ListResult> List(std::string_view bucket, const ListOptions& options) override;

  Result<std::string> CreateUpload(std::string_view bucket, std::string_view key,
                                   const ObjectMeta& meta) override;
  Result<UploadInfo> GetUpload(std::string_view bucket, std::string_view upload_id) override;
  Result<std::vector<UploadInfo>> ListUploads(std::string_view bucket) override;
  Result<std::unique_ptr<ObjectWriter>> NewPartWriter(std::string_view bucket,
                                                      std::string_view upload_id,
                                                      int part_number) override;
  Result<std::vector<PartInfo>> ListParts(std::string_view bucket,
                                          std::string_view upload_id) override;
  Result<ObjectMeta> CompleteUpload(std::string_view bucket, std::string_view upload_id,
                                    const std::vector<std::pair<int, std::string>>& parts,
                                    uint64_t min_part_size,
                                    const WriteCondition& condition) override;
  Result<ObjectMeta> CompletedUpload(
      std::string_view bucket, std::string_view upload_id,
      const std::vector<std::pair<int, std::string>>& parts) override;
  Status AbortUpload(std::string_view bucket, std::string_view upload_id) override;
  Result<int> AbortUploadsInitiatedBefore(TimePoint cutoff) override;
  Result<int> ExpireObjects(std::string_view prefix, TimePoint cutoff) override;

 private:
  Result<std::shared_ptr<Bucket>> FindBucket(std::string_view bucket);
  // store_scan.cpp: loads one bucket directory; corrupt object files are moved aside.
  Result<std::shared_ptr<Bucket>> LoadBucket(const std::string& name);
  void Quarantine(const std::string& bucket, const std::string& path, const Status& why);
  // Moves a directory inside the bucket into tmp/ so that it vanishes atomically.
  // REQUIRES: bucket.mu held exclusively.
  Result<std::string> MoveToTrashLocked(const std::string& path);
  Result<bool> ExpireObject(const std::string& bucket, const std::string& key, TimePoint cutoff);
  // Removes the completion records of uploads completed before `cutoff`.
  Status ForgetCompletedBefore(const std::string& bucket, TimePoint cutoff);
  Result<UploadInfo> GetUploadIn(const std::string& bucket, std::string_view upload_id);

  std::shared_ptr<const StoreShared> shared_;
  UniqueFd lock_;  // the data dir's LOCK, held while open
  std::shared_mutex buckets_mu_;
  std::map<std::string, std::shared_ptr<Bucket>, std::less<>> buckets_;
};

}  // namespace sparkify::diskstore::internal
