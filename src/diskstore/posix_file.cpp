#include "diskstore/internal/posix_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/crypto.h"

namespace sparkify::diskstore::internal {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string msg(what);
  msg += " ";
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(msg);
  return Status::IOError(msg);
}

Result<UniqueFd> OpenForRead(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  return UniqueFd(fd);
}

Result<UniqueFd> CreateExclusive(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", path);
  return UniqueFd(fd);
}

Status WriteAll(int fd, std::string_view data, const std::string& path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path_for_errors);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status PWriteAll(int fd, std::string_view data, uint64_t offset,
                 const std::string& path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path_for_errors);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Result<size_t> PReadFull(int fd, char* buf, size_t n, uint64_t offset,
                         const std::string& path_for_errors) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read", path_for_errors);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Result<uint64_t> FileSize(int fd, const std::string& path_for_errors) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "cannot stat", path_for_errors);
  return static_cast<uint64_t>(st.st_size);
}

Status CopyRange(int in_fd, uint64_t in_off, int out_fd, uint64_t len,
                 const std::string& path_for_errors) {
  // copy_file_range lets the kernel (or a reflinking file system) do the work.
  auto off = static_cast<loff_t>(in_off);
  while (len > 0) {
    ssize_t n = ::copy_file_range(in_fd, &off, out_fd, nullptr, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      break;  // fall back to read/write below
    }
    if (n < 0) return ErrnoStatus(errno, "cannot copy into", path_for_errors);
    if (n == 0)
      return Status::Corruption("unexpected end of input copying into " + path_for_errors);
    len -= static_cast<uint64_t>(n);
  }
  std::string buf;
  while (len > 0) {
    buf.resize(static_cast<size_t>(std::min<uint64_t>(len, 1 << 20)));
    SPARKIFY_ASSIGN_OR_RETURN(size_t got, PReadFull(in_fd, buf.data(), buf.size(),
                                                    static_cast<uint64_t>(off), path_for_errors));
    if (got == 0)
      return Status::Corruption("unexpected end of input copying into " + path_for_errors);
    SPARKIFY_RETURN_IF_ERROR(WriteAll(out_fd, std::string_view(buf.data(), got), path_for_errors));
    off += static_cast<loff_t>(got);
    len -= got;
  }
  return Status::OK();
}

Status SyncFd(int fd, const std::string& path_for_errors) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "cannot fsync", path_for_errors);
  }
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open directory", dir);
  UniqueFd owned(fd);
  return SyncFd(fd, dir);
}

namespace {

Status MakeDirWithMode(const std::string& path, mode_t mode, bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdir(path.c_str(), mode) == 0) {
    if (created != nullptr) *created = true;
    return Status::OK();
  }
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();
    return Status::IOError("cannot create directory " + path + ": exists and is not a directory");
  }
  return ErrnoStatus(errno, "cannot create directory", path);
}

}  // namespace

Status MakeDir(const std::string& path, bool* created) {
  return MakeDirWithMode(path, 0700, created);
}

Status MakeDirs(const std::string& path, bool sync) {
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    bool created = false;
    SPARKIFY_RETURN_IF_ERROR(
        MakeDirWithMode(dir, pos == std::string::npos ? 0700 : 0755, &created));
    if (created && sync) {
      size_t slash = dir.find_last_of('/');
      std::string parent = slash == std::string::npos ? "."
                           : slash == 0               ? "/"
                                                      : dir.substr(0, slash);
      SPARKIFY_RETURN_IF_ERROR(SyncDir(parent));
    }
    if (pos == std::string::npos) return Status::OK();
  }
}

Status RenamePath(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot rename " + from + " to", to);
  }
  return Status::OK();
}

Status RemoveFile(const std::string& path, bool* removed) {
  if (removed != nullptr) *removed = false;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus(errno, "cannot remove", path);
  }
  if (removed != nullptr) *removed = true;
  return Status::OK();
}

Status RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus(errno, "cannot stat", path);
  }
  if (!S_ISDIR(st.st_mode)) return RemoveFile(path);
  auto names = ListDir(path);
  if (!names.ok()) return names.status().IsNotFound() ? Status::OK() : names.status();
  for (const std::string& name : *names) {
    SPARKIFY_RETURN_IF_ERROR(RemoveTree(path + "/" + name));
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove directory", path);
  }
  return Status::OK();
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "cannot list directory", dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(d)) {
    std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, "cannot list directory", dir);
  return names;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<std::string> WriteTempFile(const std::string& tmp_dir, std::string_view content, bool sync) {
  std::string tmp = tmp_dir + "/" + RandomHexName() + ".tmp";
  SPARKIFY_ASSIGN_OR_RETURN(UniqueFd fd, CreateExclusive(tmp));
  Status st = WriteAll(fd.get(), content, tmp);
  if (st.ok() && sync) st = SyncFd(fd.get(), tmp);
  if (!st.ok()) {
    fd.Reset();
    (void)RemoveFile(tmp);
    return st;
  }
  return tmp;
}

Status CheckFreeSpace(const std::string& dir, uint64_t bytes, uint64_t reserve) {
  if (reserve == 0) return Status::OK();
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return ErrnoStatus(errno, "cannot statvfs", dir);
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (available >= reserve && available - reserve >= bytes) return Status::OK();
  return Status::NoSpace("out of space: " + std::to_string(available) +
                         " bytes available, the store keeps " + std::to_string(reserve) +
                         " free and was to write " + std::to_string(bytes));
}

Status WriteFileAtomic(const std::string& tmp_dir, const std::string& final_path,
                       const std::string& final_dir, std::string_view content, bool sync) {
  SPARKIFY_ASSIGN_OR_RETURN(std::string tmp, WriteTempFile(tmp_dir, content, sync));
  Status st = RenamePath(tmp, final_path);
  if (!st.ok()) {
    (void)RemoveFile(tmp);
    return st;
  }
  return sync ? SyncDir(final_dir) : Status::OK();
}

Result<std::string> ReadSmallFile(const std::string& path) {
  SPARKIFY_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
  SPARKIFY_ASSIGN_OR_RETURN(uint64_t size, FileSize(fd.get(), path));
  std::string out(static_cast<size_t>(size), '\0');
  SPARKIFY_ASSIGN_OR_RETURN(size_t got, PReadFull(fd.get(), out.data(), out.size(), 0, path));
  out.resize(got);
  return out;
}

std::string RandomHexName() { return HexEncode(RandomBytes(16)); }

Result<UniqueFd> LockFile(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  UniqueFd owned(fd);
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == EWOULDBLOCK) {
    return Status::FailedPrecondition("locked by another process (" + path + ")");
  }
  if (rc != 0) return ErrnoStatus(errno, "cannot lock", path);
  return owned;
}

}  // namespace sparkify::diskstore::internal
