// Thin POSIX file helpers for the disk store: an owning file descriptor, full reads and writes
// that retry short transfers and EINTR, fsync of files and directories, and directory listing
// and removal. Every failure comes back as a Status naming the path and the errno text.
// Thread-safe: the free functions are; a UniqueFd is not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::diskstore::internal {

// Owns one open file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// "<what> <path>: <strerror(err)>", as IOError, or NotFound for ENOENT.
Status ErrnoStatus(int err, std::string_view what, std::string_view path);

// Opens for reading (O_RDONLY | O_CLOEXEC). NotFound when missing.
Result<UniqueFd> OpenForRead(const std::string& path);
// Creates a new file exclusively (O_EXCL), mode 0644.
Result<UniqueFd> CreateExclusive(const std::string& path);

Status WriteAll(int fd, std::string_view data, const std::string& path_for_errors);
Status PWriteAll(int fd, std::string_view data, uint64_t offset,
                 const std::string& path_for_errors);
// Reads up to n bytes at offset, stopping early only at end of file.
Result<size_t> PReadFull(int fd, char* buf, size_t n, uint64_t offset,
                         const std::string& path_for_errors);
Result<uint64_t> FileSize(int fd, const std::string& path_for_errors);
// Copies len bytes from in_fd at in_off to the current position of out_fd.
Status CopyRange(int in_fd, uint64_t in_off, int out_fd, uint64_t len,
                 const std::string& path_for_errors);

Status SyncFd(int fd, const std::string& path_for_errors);
// fsyncs a directory so that a rename, create or unlink inside it is durable.
Status SyncDir(const std::string& dir);

// mkdir with mode 0700 (the store's data is private to its user); OK if it already exists.
// *created tells whether it was made now (may be null).
Status MakeDir(const std::string& path, bool* created = nullptr);
// mkdir -p; the last directory 0700, the ancestors it makes 0755. When sync, fsyncs the
// parent of every directory it made.
Status MakeDirs(const std::string& path, bool sync);
// Takes an exclusive flock on `path` (created 0600) without waiting, for as long as the
// returned fd stays open. FailedPrecondition when another open file holds it.
Result<UniqueFd> LockFile(const std::string& path);
Status RenamePath(const std::string& from, const std::string& to);
// unlink; OK when already gone. *removed (may be null) tells whether it existed.
Status RemoveFile(const std::string& path, bool* removed = nullptr);
// Removes a file or a directory tree; OK when already gone.
Status RemoveTree(const std::string& path);
// Names in a directory, without "." and "..". NotFound when the directory is missing.
Result<std::vector<std::string>> ListDir(const std::string& dir);
bool PathExists(const std::string& path);

// Writes content to a new file in tmp_dir (fsync'ed when sync) and returns its path.
Result<std::string> WriteTempFile(const std::string& tmp_dir, std::string_view content, bool sync);
// Writes content to a new temp file in tmp_dir, fsyncs it (when sync), renames it over
// final_path and fsyncs final_dir (when sync).
// NoSpace when writing `bytes` more into the file system of `dir` would leave less than
// `reserve` bytes available to unprivileged users (statvfs f_bavail). The message gives the
// numbers, never the path. A reserve of 0 checks nothing.
Status CheckFreeSpace(const std::string& dir, uint64_t bytes, uint64_t reserve);

Status WriteFileAtomic(const std::string& tmp_dir, const std::string& final_path,
                       const std::string& final_dir, std::string_view content, bool sync);
// Reads a whole (small) file.
Result<std::string> ReadSmallFile(const std::string& path);

// A fresh unguessable name: 32 lowercase hex digits.
std::string RandomHexName();

}  // namespace sparkify::diskstore::internal
