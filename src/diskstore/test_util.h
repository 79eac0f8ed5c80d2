// Helpers shared by the disk store tests: a temp dir removed at the end, object put/get
// shortcuts, random bytes, and a brute-force reference listing to check KeyIndex against.
// Not thread-safe unless a function says so.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "diskstore/disk_store.h"

namespace sparkify::diskstore::testing {

// A fresh directory under `base` (default /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& base = "/tmp") {
    std::string tmpl = base + "/diskstore_test.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string RandomData(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// Writes data in chunks of `chunk` bytes and commits. Thread-safe (the store is).
inline Result<ObjectMeta> PutObject(DiskStore& store, std::string_view bucket,
                                    std::string_view key, std::string_view data,
                                    ObjectMeta meta = {}, size_t chunk = 1 << 20) {
  SPARKIFY_ASSIGN_OR_RETURN(auto writer, store.NewWriter(bucket, key));
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    SPARKIFY_RETURN_IF_ERROR(writer->Append(data.substr(pos, chunk)));
  }
  return writer->Commit(std::move(meta));
}

inline Result<std::string> ReadAll(ObjectReader& reader, size_t chunk = 1 << 20) {
  std::string out;
  std::string buf(chunk, '\0');
  for (;;) {
    SPARKIFY_ASSIGN_OR_RETURN(size_t n, reader.ReadAt(out.size(), buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

inline Result<std::string> GetObject(DiskStore& store, std::string_view bucket,
                                     std::string_view key) {
  SPARKIFY_ASSIGN_OR_RETURN(auto reader, store.Open(bucket, key));
  return ReadAll(*reader);
}

inline std::string Md5HexOf(std::string_view data) { return HexEncode(Md5(data)); }

// One listing entry: a key (false) or a common prefix (true).
using Entry = std::pair<std::string, bool>;

// Everything a listing with these options would return over all pages, computed the slow way:
// keys > start_after under the prefix, grouped at the first delimiter after the prefix, and a
// group equal to start_after dropped (it was returned on the previous page).
inline std::vector<Entry> ReferenceEntries(const std::vector<std::string>& sorted_keys,
                                           const ListOptions& o) {
  std::vector<Entry> out;
  for (const std::string& k : sorted_keys) {
    if (k.compare(0, o.prefix.size(), o.prefix) != 0 || k.size() < o.prefix.size()) continue;
    if (!o.start_after.empty() && k <= o.start_after) continue;
    size_t pos = o.delimiter.empty() ? std::string::npos : k.find(o.delimiter, o.prefix.size());
    if (pos == std::string::npos) {
      out.emplace_back(k, false);
      continue;
    }
    std::string cp = k.substr(0, pos + o.delimiter.size());
    if (cp == o.start_after) continue;
    if (out.empty() || out.back() != Entry(cp, true)) out.emplace_back(cp, true);
  }
  return out;
}

// The entries of one page, in order (objects and prefixes merged back by name).
inline std::vector<Entry> PageEntries(const ListResult& r) {
  std::vector<Entry> out;
  for (const auto& o : r.objects) out.emplace_back(o.key, false);
  for (const auto& p : r.common_prefixes) out.emplace_back(p, true);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sparkify::diskstore::testing
