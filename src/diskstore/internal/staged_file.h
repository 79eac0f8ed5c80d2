// StagedFile builds one object-format file (see object_format.h) in the store's tmp/ dir: the
// data first (kept in memory while small, streamed to disk past kInlineBytes), the header
// last. Finish() leaves a complete temp file, fsync'ed when asked, for the caller to rename into
// place. A StagedFile that is destroyed before MarkPublished() removes its temp file.
// Not thread-safe: one writer owns it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "diskstore/internal/object_format.h"
#include "diskstore/internal/posix_file.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace sparkify::diskstore::internal {

// MD5 that can report the digest of what it has seen so far and keep going. Not thread-safe.
class RunningMd5 {
 public:
  RunningMd5();
  ~RunningMd5();
  RunningMd5(const RunningMd5&) = delete;
  RunningMd5& operator=(const RunningMd5&) = delete;
  void Update(std::string_view data);
  std::string Raw() const;  // 16 bytes; the running state is left untouched
  std::string Hex() const;

 private:
  EVP_MD_CTX* ctx_;
};

class StagedFile {
 public:
  static constexpr uint64_t kInlineBytes = 64 * 1024;

  // Writes that would leave less than `reserve` bytes free in tmp_dir's file system fail with
  // NoSpace (CheckFreeSpace) before anything is written.
  StagedFile(std::string tmp_dir, bool sync, uint64_t reserve = 0);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  Status Append(std::string_view data);
  // Appends len bytes of another open file, starting at offset (kernel copy where possible).
  Status AppendFrom(int fd, uint64_t offset, uint64_t len, const std::string& source_path);
  uint64_t size() const { return size_; }

  // Writes the header and syncs. REQUIRES: not finished yet. After OK, temp_path() names a
  // complete file and no more data may be appended. `sealed`: the data appended is encrypted
  // (sealing.h), and the header says so.
  Status Finish(FileKind kind, std::string_view meta, bool sealed = false);
  const std::string& temp_path() const { return path_; }
  // The temp file has been renamed away: do not remove it on destruction.
  void MarkPublished() { published_ = true; }
  // Removes the temp file now (after a failed commit) rather than at destruction.
  void Discard();

 private:
  Status SpillToFile();

  std::string tmp_dir_;
  bool sync_;
  uint64_t reserve_;
  std::string path_;  // empty until the temp file exists
  UniqueFd fd_;
  std::string buffer_;  // data not yet on disk (only before spilling)
  uint64_t size_ = 0;
  bool spilled_ = false;
  bool finished_ = false;
  bool published_ = false;
};

}  // namespace sparkify::diskstore::internal
