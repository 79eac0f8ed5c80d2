// DiskStore (library sparkify_diskstore): buckets and objects on a local file system, durable and
// atomic.
//
// Layout under the data dir (all of it private to this class):
//   store.json                            format marker
//   sse-s3.key                            the key of encryption at rest (unless kept elsewhere)
//   sse-s3.keyid                          the id of the key the encrypted objects need
//   buckets/<bucket>/bucket.json         creation time
//   buckets/<bucket>/docs/<name>          bucket documents (policy JSON, ...)
//   buckets/<bucket>/objects/<aa>/<sha256(key) hex>   one file per object: header + data
//                                         (format in object_format.h; <aa> = first 2 hex)
//   buckets/<bucket>/uploads/<upload-id>/upload, part-00001, ...   multipart uploads
//   tmp/                                  temporary files, emptied at Open()
//   quarantine/                           files that failed their checks at Open()
// Object keys never become path components, so any key of up to 1024 bytes is safe.
//
// Durability: a write goes to a temp file, is fsync'ed, renamed over the final name, and the
// directory is fsync'ed before Commit() returns. Readers open one file and so always see one
// whole version. A crash leaves at most temp files, removed at the next Open(). A torn or
// corrupt object file found at Open() is logged, moved to quarantine/ and not served.
//
// Thread-safe: all methods may be called concurrently; readers and writers may outlive the
// store. No method throws: failures come back as Status. Listing is served from an in-memory
// index (sorted by UTF-8 bytes) built at Open() and kept in step with every commit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sparkify::diskstore {

inline constexpr size_t kMaxKeyBytes = 1024;
// The one algorithm of ObjectMeta::server_side_encryption (SSE-S3's name for it).
inline constexpr char kAes256[] = "AES256";

struct ObjectMeta {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes: hex MD5, or "<hex md5 of part md5s>-N" for multipart
  TimePoint last_modified{};
  std::string content_type;  // "binary/octet-stream" when the client sent none
  std::string cache_control;
  std::string content_disposition;
  std::string content_encoding;
  std::string content_language;
  std::string expires;
  // "AES256" when the data is encrypted at rest (SSE-S3), else empty. For CreateUpload: the
  // parts and the object will be; for a writer, set by NewWriter's `encrypt`.
  std::string server_side_encryption;
  // x-amz-meta-* with the prefix removed, names lowercased, in sorted order.
  std::map<std::string, std::string> user_meta;
  // Checksums the client sent and we verified: "CRC32" | "CRC32C" | "SHA256" -> base64.
  std::map<std::string, std::string> checksums;
  int parts_count = 0;  // 0 for a single PUT
  // A multipart object's part sizes, in order (GET/HEAD ?partNumber=N reads part N). Empty for
  // a single PUT, and for multipart objects completed before the store recorded them.
  std::vector<uint64_t> part_sizes;
};

// Reads one committed version of an object. Not thread-safe; cheap to open.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual const ObjectMeta& meta() const = 0;
  // Reads up to n bytes at `offset` of the object's data into buf; returns bytes read
  // (0 at end).
  virtual Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) = 0;
  // The open file descriptor and the offset of the object's first byte in it, for sendfile.
  // -1 when the file does not hold the object's bytes as they are (encrypted at rest): then
  // only ReadAt reads them.
  virtual int fd() const = 0;
  virtual uint64_t data_offset() const = 0;
};

// What must hold of a key's current version for a write to replace it (S3 conditional writes:
// If-Match / If-None-Match on PutObject and CompleteMultipartUpload). Checked atomically with
// the publication, so of two writers racing on the same condition one wins and the other fails.
struct WriteCondition {
  // The current ETag (quotes and case ignored), or "*" for any: the key must exist.
  std::optional<std::string> if_match;
  bool if_none_match = false;  // the key must not exist
};

// Writes a new version of an object. Not thread-safe. Destroying it without Commit() discards
// everything written.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual uint64_t bytes_written() const = 0;
  // Hex MD5 of everything appended so far (the ETag of a single PUT).
  virtual std::string Md5Hex() = 0;
  // Makes the object visible atomically and durably. meta.size, meta.etag (if empty: the
  // MD5) and meta.last_modified (if unset: now) are filled in; the rest is kept as given.
  // Returns the metadata as stored. NotFound when the bucket (or, for a part, the upload) went
  // away meanwhile; FailedPrecondition when called twice. A failed Commit discards the data.
  // An object's `condition` not holding: FailedPrecondition "PreconditionFailed: ...", or
  // NotFound "NoSuchKey: ..." for if_match on a missing key (ignored for parts).
  virtual Result<ObjectMeta> Commit(ObjectMeta meta, const WriteCondition& condition) = 0;
  Result<ObjectMeta> Commit(ObjectMeta meta) { return Commit(std::move(meta), {}); }
};

struct BucketInfo {
  std::string name;
  TimePoint created{};
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;    // empty: no grouping
  // Exclusive; the continuation token's position (ListResult::last_key) goes here too. When it
  // equals a common prefix, the whole group under it is skipped.
  std::string start_after;
  int max_keys = 1000;  // 0..1000 (larger is clamped to 1000, negative is InvalidArgument)
};

// Keys and common prefixes together count against max_keys, as in S3; max_keys 0 returns an
// empty, untruncated page.
struct ListResult {
  // Sorted by key bytes. Only key, size, etag and last_modified are filled (what
  // ListObjectsV2 returns); Head() has the rest.
  std::vector<ObjectMeta> objects;
  std::vector<std::string> common_prefixes;  // sorted, each ending with the delimiter
  bool truncated = false;
  std::string last_key;  // the last key or common prefix returned, for the next page
};

struct PartInfo {
  int number = 0;
  uint64_t size = 0;
  std::string etag;  // hex md5, no quotes
  TimePoint last_modified{};
};

struct UploadInfo {
  std::string upload_id;
  std::string key;
  TimePoint initiated{};
  ObjectMeta meta;  // what CreateMultipartUpload was given (content type, user meta, ...)
};

struct DiskStoreOptions {
  std::string data_dir;  // created if missing
  const Clock* clock = &Clock::System();  // must outlive the store and its writers
  bool fsync = true;  // false only for benchmarks of the cost of fsync, never in production
  // Writes (objects, parts, bucket and upload records) that would leave less than this many
  // bytes free on the data dir's file system fail with NoSpace; reads and deletes never
  // need space. Default: 256 MiB. 0: only the disk's own ENOSPC stops writes.
  uint64_t min_free_bytes = 256ull << 20;
  // The key that encrypts objects at rest (64 hex digits, made 0600 at the first encrypted
  // write). Empty: <data_dir>/sse-s3.key. Kept elsewhere (another disk, a secrets mount),
  // a copy of the data dir alone does not reveal encrypted objects. Open() fails
  // (FailedPrecondition) when the data dir holds encrypted objects and this is not their key.
  std::string encryption_key_file;
};

class DiskStore {
 public:
  // Opens (creating if needed) the data dir, removes leftover temp files, builds the index.
  // Fails with a clear message when the dir cannot be created, read or written.
  static Result<std::unique_ptr<DiskStore>> Open(const DiskStoreOptions& options);
  virtual ~DiskStore() = default;

  // Buckets. Names are validated by the caller (S3 rules; here only: one path component, not
  // "." or ".."); errors: AlreadyExists, NotFound, FailedPrecondition (DeleteBucket of a bucket
  // that holds objects). As in S3, uploads in progress do not block DeleteBucket: they are
  // aborted with the bucket.
  virtual Status CreateBucket(std::string_view bucket) = 0;
  virtual Status DeleteBucket(std::string_view bucket) = 0;
  virtual Result<BucketInfo> GetBucket(std::string_view bucket) = 0;
  virtual std::vector<BucketInfo> ListBuckets() = 0;  // sorted by name

  // Per-bucket documents kept beside the bucket (bucket policy JSON, public access block
  // JSON, ...), written atomically. Names: 1..64 of [A-Za-z0-9._-], not starting with '.'.
  // Reading a missing document is NotFound; deleting one is OK.
  virtual Status PutBucketDocument(std::string_view bucket, std::string_view name,
                                   std::string_view content) = 0;
  virtual Result<std::string> GetBucketDocument(std::string_view bucket,
                                                std::string_view name) = 0;
  virtual Status DeleteBucketDocument(std::string_view bucket, std::string_view name) = 0;

  // Objects. NotFound for a missing bucket or key (message says which). Keys: 1..kMaxKeyBytes
  // bytes of anything (InvalidArgument otherwise). Open() and Head() read the object file's
  // header and so return the full metadata.
  // `encrypt`: the data is encrypted at rest (SSE-S3; see sealing.h for the format), under
  // the store's key, made at the first encrypted write. Readers decrypt transparently.
  virtual Result<std::unique_ptr<ObjectWriter>> NewWriter(std::string_view bucket,
                                                          std::string_view key,
                                                          bool encrypt = false) = 0;
  virtual Result<std::unique_ptr<ObjectReader>> Open(std::string_view bucket,
                                                     std::string_view key) = 0;
  virtual Result<ObjectMeta> Head(std::string_view bucket, std::string_view key) = 0;
  // Deleting a missing key is OK (S3 semantics).
  virtual Status Delete(std::string_view bucket, std::string_view key) = 0;
  virtual Result<ListResult> List(std::string_view bucket, const ListOptions& options) = 0;

  // Multipart uploads. Part numbers 1..10000; uploading a part again replaces it; parts may
  // be uploaded concurrently and in any order. meta.server_side_encryption "AES256": the
  // parts and the object are encrypted at rest.
  virtual Result<std::string> CreateUpload(std::string_view bucket, std::string_view key,
                                           const ObjectMeta& meta) = 0;
  virtual Result<UploadInfo> GetUpload(std::string_view bucket, std::string_view upload_id) = 0;
  // Uploads in progress, sorted by key then initiation time.
  virtual Result<std::vector<UploadInfo>> ListUploads(std::string_view bucket) = 0;
  virtual Result<std::unique_ptr<ObjectWriter>> NewPartWriter(std::string_view bucket,
                                                              std::string_view upload_id,
                                                              int part_number) = 0;
  // Sorted by part number (a damaged part file is logged and left out).
  virtual Result<std::vector<PartInfo>> ListParts(std::string_view bucket,
                                                  std::string_view upload_id) = 0;
  // `parts` as the client listed them: (number, etag). They must be ascending, exist, match
  // their ETags (compared without quotes, case-insensitively), and all but the last be
  // >= min_part_size. Errors: InvalidArgument (message starts with "InvalidPart:",
  // "InvalidPartOrder:", "EntityTooSmall:", or "MalformedXML:" for an empty list), NotFound
  // (no such upload). On success the upload is gone and the object is committed, with ETag
  // hex(MD5(raw part MD5s)) + "-" + N and the metadata given to CreateUpload.
  // `condition` as for ObjectWriter::Commit; when it does not hold the upload stays.
  virtual Result<ObjectMeta> CompleteUpload(std::string_view bucket, std::string_view upload_id,
                                            const std::vector<std::pair<int, std::string>>& parts,
                                            uint64_t min_part_size,
                                            const WriteCondition& condition = {}) = 0;
  // The result of an upload that was completed with the same part list, for a client that
  // retries CompleteUpload after a success it did not hear: the object it made, as long as it
  // is still the key's current one. NotFound otherwise (never completed, completed with
  // other parts, overwritten or deleted since, or the record expired).
  virtual Result<ObjectMeta> CompletedUpload(
      std::string_view bucket, std::string_view upload_id,
      const std::vector<std::pair<int, std::string>>& parts) = 0;
  virtual Status AbortUpload(std::string_view bucket, std::string_view upload_id) = 0;
  // Aborts every upload (in every bucket) initiated before `cutoff`: orphans a client left.
  // Returns how many; an upload completed or aborted meanwhile is skipped. Also forgets the
  // records of uploads completed before `cutoff` (see CompletedUpload).
  virtual Result<int> AbortUploadsInitiatedBefore(TimePoint cutoff) = 0;

  // Lifecycle expiration: deletes every object (in every bucket) whose key starts with
  // `prefix` and that was last written before `cutoff`. An object written again meanwhile
  // is kept (checked under the bucket's lock). Returns how many were deleted.
  virtual Result<int> ExpireObjects(std::string_view prefix, TimePoint cutoff) = 0;
};

}  // namespace sparkify::diskstore
