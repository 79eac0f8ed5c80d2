// Small whole-file helpers for configuration and documents (not for object data).
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/status.h"

namespace sparkify {

// NotFound when the file does not exist, IOError for anything else.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 64 << 20);

// Replaces `path` atomically and durably: temp file in the same dir, write, fsync, rename,
// fsync the directory. A crash leaves the old or the new content, never a mix.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// A whole file mapped read-only (MAP_PRIVATE): its bytes come straight from the page cache,
// shared with every process that maps the same file, without a copy.
class MappedFile {
 public:
  // Maps `path` after checking it holds exactly `expected_size` bytes (so a wrong file is
  // refused before anything is read). NotFound when it does not exist, Corruption when its
  // size differs, IOError otherwise.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path,
                                                  uint64_t expected_size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view data() const { return {static_cast<const char*>(addr_), size_}; }
  // Lets go of the pages this process has read (they leave its resident set; the next read
  // maps them again from the page cache or the disk). The contents do not change.
  void Release() const;

 private:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_;
  size_t size_;
};

}  // namespace sparkify
