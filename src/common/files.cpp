#include "common/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crypto.h"

namespace sparkify {
namespace {

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(ErrnoText("cannot open", path));
    return Status::IOError(ErrnoText("cannot open", path));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::IOError(ErrnoText("cannot read", path));
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) +
                                       " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp." + HexEncode(RandomBytes(6));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(ErrnoText("cannot create", tmp));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::IOError(ErrnoText("cannot write", tmp));
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    Status s = Status::IOError(ErrnoText("cannot sync", tmp));
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::IOError(ErrnoText("cannot rename onto", path));
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::IOError(ErrnoText("cannot open dir of", path));
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return Status::IOError(ErrnoText("cannot sync dir of", path));
  return Status::OK();
}

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path,
                                                     uint64_t expected_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(ErrnoText("file missing:", path));
    return Status::IOError(ErrnoText("cannot open", path));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Status::IOError(ErrnoText("cannot stat", path));
    ::close(fd);
    return s;
  }
  if (static_cast<uint64_t>(st.st_size) != expected_size || expected_size == 0) {
    ::close(fd);
    return Status::Corruption(path + " is " + std::to_string(st.st_size) + " bytes, not " +
                              std::to_string(expected_size));
  }
  // MAP_POPULATE maps the whole file at once: far cheaper than a fault per page.
  void* addr = ::mmap(nullptr, expected_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (addr == MAP_FAILED) {
    errno = err;
    return Status::IOError(ErrnoText("cannot map", path));
  }
  return std::unique_ptr<MappedFile>(new MappedFile(addr, expected_size));
}

MappedFile::~MappedFile() { ::munmap(addr_, size_); }

void MappedFile::Release() const { ::madvise(addr_, size_, MADV_DONTNEED); }

}  // namespace sparkify
