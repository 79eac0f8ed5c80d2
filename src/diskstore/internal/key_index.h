// KeyIndex: the in-memory index of one bucket's objects, sorted by key bytes, from which
// listings are served. It keeps per key only what ListObjectsV2 returns (size, ETag, last
// modified), with the ETag packed to 16 bytes when it has the usual MD5 form.
// Not thread-safe: the owning bucket's mutex guards it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "diskstore/disk_store.h"

namespace sparkify::diskstore::internal {

// An ETag in little memory: "<32 hex>" or "<32 hex>-<N>" as 16 bytes plus N; anything else
// verbatim.
class CompactEtag {
 public:
  CompactEtag() = default;
  explicit CompactEtag(std::string_view etag);
  std::string ToString() const;

 private:
  std::array<unsigned char, 16> md5_{};
  uint32_t parts_ = 0;  // 0: plain MD5
  bool packed_ = false;
  std::string other_;  // when not packed
};

struct IndexEntry {
  uint64_t size = 0;
  int64_t last_modified_ns = 0;
  CompactEtag etag;
};

class KeyIndex {
 public:
  void Put(const ObjectMeta& meta);
  void Erase(std::string_view key);
  // Moves every entry of `other` in (without copying keys); on equal keys this one's wins.
  void MergeFrom(KeyIndex&& other) { entries_.merge(other.entries_); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Key, size, etag and last_modified of one object, if indexed.
  std::optional<ObjectMeta> Get(std::string_view key) const;

  // One page of a listing with S3 ListObjectsV2 semantics. Objects carry key, size, etag and
  // last_modified only. A start_after equal to a common prefix (the last_key of a page that
  // ended on one) skips that whole group. Each group of keys under one common prefix costs one
  // tree seek, not one step per key. REQUIRES: 0 <= options.max_keys.
  ListResult List(const ListOptions& options) const;

 private:
  ObjectMeta ToMeta(const std::string& key, const IndexEntry& entry) const;

  std::map<std::string, IndexEntry, std::less<>> entries_;
};

}  // namespace sparkify::diskstore::internal
