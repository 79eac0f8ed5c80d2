#include "diskstore/internal/key_index.h"

#include <chrono>

namespace sparkify::diskstore::internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is kept verbatim so that it round-trips
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The smallest string greater than every string that starts with `prefix`; nullopt when there
// is none (the prefix is all 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

// Parses "<32 lowercase hex>" or "<32 lowercase hex>-<N>" (N canonical, at most 5 digits).
bool ParseEtag(std::string_view etag, std::array<unsigned char, 16>* md5, uint32_t* parts) {
  if (etag.size() < 32) return false;
  for (size_t i = 0; i < 16; ++i) {
    int hi = HexValue(etag[2 * i]), lo = HexValue(etag[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*md5)[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  std::string_view rest = etag.substr(32);
  *parts = 0;
  if (rest.empty()) return true;
  if (rest.size() < 2 || rest.size() > 6 || rest[0] != '-' || rest[1] == '0') return false;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
    *parts = *parts * 10 + static_cast<uint32_t>(c - '0');
  }
  return true;
}

CompactEtag::CompactEtag(std::string_view etag) {
  packed_ = ParseEtag(etag, &md5_, &parts_);
  if (!packed_) other_.assign(etag);
}

std::string CompactEtag::ToString() const {
  if (!packed_) return other_;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(40);
  for (unsigned char b : md5_) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  if (parts_ > 0) {
    out.push_back('-');
    out.append(std::to_string(parts_));
  }
  return out;
}

void KeyIndex::Put(const ObjectMeta& meta) {
  IndexEntry entry;
  entry.size = meta.size;
  entry.last_modified_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(meta.last_modified.time_since_epoch())
          .count();
  entry.etag = CompactEtag(meta.etag);
  entries_.insert_or_assign(meta.key, std::move(entry));
}

void KeyIndex::Erase(std::string_view key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
}

std::optional<ObjectMeta> KeyIndex::Get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return ToMeta(it->first, it->second);
}

ObjectMeta KeyIndex::ToMeta(const std::string& key, const IndexEntry& entry) const {
  ObjectMeta meta;
  meta.key = key;
  meta.size = entry.size;
  meta.etag = entry.etag.ToString();
  meta.last_modified = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::nanoseconds(entry.last_modified_ns)));
  return meta;
}

ListResult KeyIndex::List(const ListOptions& options) const {
  ListResult result;
  if (options.max_keys <= 0) return result;
  const std::string& prefix = options.prefix;
  const std::string& delim = options.delimiter;
  const std::string& after = options.start_after;

  auto seek_past_group = [&](const std::string& group) {
    std::optional<std::string> next = PrefixSuccessor(group);
    return next ? entries_.lower_bound(*next) : entries_.end();
  };

  auto it = entries_.lower_bound(prefix);
  if (!after.empty() && after >= prefix) {
    it = entries_.upper_bound(after);
    // A start_after that is itself a common prefix means that group was already returned.
    if (!delim.empty() && StartsWith(after, prefix) && after.size() >= prefix.size() + delim.size() &&
        after.find(delim, prefix.size()) == after.size() - delim.size()) {
      it = seek_past_group(after);
    }
  }

  int count = 0;
  while (it != entries_.end() && StartsWith(it->first, prefix)) {
    if (count == options.max_keys) {
      result.truncated = true;
      break;
    }
    const std::string& key = it->first;
    size_t pos = delim.empty() ? std::string::npos : key.find(delim, prefix.size());
    if (pos != std::string::npos) {
      std::string group = key.substr(0, pos + delim.size());
      it = seek_past_group(group);
      result.last_key = group;
      result.common_prefixes.push_back(std::move(group));
    } else {
      result.objects.push_back(ToMeta(key, it->second));
      result.last_key = key;
      ++it;
    }
    ++count;
  }
  return result;
}

}  // namespace sparkify::diskstore::internal
