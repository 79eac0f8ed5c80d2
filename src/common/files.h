// Small whole-file helpers for configuration and documents (not for object data).
// Thread-safe (no shared state).
#pragma once

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

}  // namespace sparkify
