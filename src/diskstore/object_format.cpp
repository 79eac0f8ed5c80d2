#include "diskstore/internal/object_format.h"

#include <chrono>
#include <cstring>

#include "common/crypto.h"
#include "diskstore/internal/posix_file.h"

namespace sparkify::diskstore::internal {
namespace {

constexpr char kMagic[8] = {'S', 'P', 'K', 'O', 'B', 'J', '\r', '\n'};

enum Tag : uint8_t {
  kKey = 1,
  kSize = 2,
  kEtag = 3,
  kLastModifiedNs = 4,
  kContentType = 5,
  kCacheControl = 6,
  kContentDisposition = 7,
  kContentEncoding = 8,
  kContentLanguage = 9,
  kExpires = 10,
  kUserMeta = 11,  // value: u32 name length, name, value
  kChecksum = 12,  // same shape
  kPartsCount = 13,
  kPartNumber = 14,
  kPartSizes = 15,  // value: u64 LE per part, in order
  kServerSideEncryption = 16,
  kSeal = 17,  // value: u32 key id length, key id, wrapped data key
};

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLE(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  }
  return v;
}

void PutRecord(std::string* out, Tag tag, std::string_view value) {
  out->push_back(static_cast<char>(tag));
  PutLE(out, value.size(), 4);
  out->append(value);
}

void PutNumber(std::string* out, Tag tag, uint64_t v) {
  std::string bytes;
  PutLE(&bytes, v, 8);
  PutRecord(out, tag, bytes);
}

void PutPair(std::string* out, Tag tag, const std::string& name, const std::string& value) {
  std::string bytes;
  PutLE(&bytes, name.size(), 4);
  bytes += name;
  bytes += value;
  PutRecord(out, tag, bytes);
}

bool SplitPair(std::string_view v, std::string* name, std::string* value) {
  if (v.size() < 4) return false;
  uint64_t n = GetLE(v, 0, 4);
  if (n > v.size() - 4) return false;
  name->assign(v.substr(4, n));
  value->assign(v.substr(4 + n));
  return true;
}

uint32_t HeaderCrc(std::string_view fixed32, std::string_view meta) {
  return Crc32c(meta, Crc32c(fixed32));
}

}  // namespace

std::string EncodeHeader(FileKind kind, std::string_view meta, uint64_t data_offset,
                         uint64_t data_len, bool sealed) {
  std::string out(kMagic, sizeof(kMagic));
  PutLE(&out, sealed ? kSealedFormatVersion : kFormatVersion, 2);
  PutLE(&out, static_cast<uint16_t>(kind), 2);
  PutLE(&out, meta.size(), 4);
  PutLE(&out, data_offset, 8);
  PutLE(&out, data_len, 8);
  PutLE(&out, HeaderCrc(out, meta), 4);
  out.append(meta);
  return out;
}

Result<FileHeader> ReadHeader(int fd, const std::string& path) {
  std::string buf(kReservedHeaderBytes, '\0');
  SPARKIFY_ASSIGN_OR_RETURN(size_t got, PReadFull(fd, buf.data(), buf.size(), 0, path));
  auto corrupt = [&](std::string_view why) {
    return Status::Corruption("bad object file " + path + ": " + std::string(why));
  };
  if (got < kFixedHeaderBytes) return corrupt("shorter than its header");
  if (std::memcmp(buf.data(), kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic");
  uint64_t version = GetLE(buf, 8, 2);
  if (version != kFormatVersion && version != kSealedFormatVersion) {
    return corrupt("unknown format version");
  }
  FileHeader h;
  h.sealed = version == kSealedFormatVersion;
  uint64_t kind = GetLE(buf, 10, 2);
  if (kind < 1 || kind > 3) return corrupt("unknown file kind");
  h.kind = static_cast<FileKind>(kind);
  uint64_t meta_len = GetLE(buf, 12, 4);
  h.data_offset = GetLE(buf, 16, 8);
  h.data_len = GetLE(buf, 24, 8);
  if (meta_len > kMaxMetaBytes) return corrupt("metadata too large");
  if (h.data_offset < kFixedHeaderBytes + meta_len) return corrupt("data overlaps the header");
  if (kFixedHeaderBytes + meta_len > got) {
    buf.resize(kFixedHeaderBytes + meta_len);
    SPARKIFY_ASSIGN_OR_RETURN(size_t more, PReadFull(fd, buf.data() + got, buf.size() - got,
                                                     got, path));
    if (got + more < buf.size()) return corrupt("truncated metadata");
  }
  h.meta.assign(buf, kFixedHeaderBytes, meta_len);
  auto stored_crc = static_cast<uint32_t>(GetLE(buf, 32, 4));
  if (HeaderCrc(std::string_view(buf).substr(0, 32), h.meta) != stored_crc) {
    return corrupt("header checksum mismatch");
  }
  SPARKIFY_ASSIGN_OR_RETURN(uint64_t file_size, FileSize(fd, path));
  if (h.data_len > UINT64_MAX - h.data_offset || file_size != h.data_offset + h.data_len) {
    return corrupt("length " + std::to_string(file_size) + " does not match header (" +
                   std::to_string(h.data_offset) + " + " + std::to_string(h.data_len) + ")");
  }
  return h;
}

std::string EncodeMeta(const ObjectMeta& meta, int part_number, const SealInfo* seal) {
  std::string out;
  PutRecord(&out, kKey, meta.key);
  PutNumber(&out, kSize, meta.size);
  PutRecord(&out, kEtag, meta.etag);
  PutNumber(&out, kLastModifiedNs,
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      meta.last_modified.time_since_epoch())
                                      .count()));
  const std::pair<Tag, const std::string*> fields[] = {
      {kContentType, &meta.content_type},
      {kCacheControl, &meta.cache_control},
      {kContentDisposition, &meta.content_disposition},
      {kContentEncoding, &meta.content_encoding},
      {kContentLanguage, &meta.content_language},
      {kExpires, &meta.expires},
      {kServerSideEncryption, &meta.server_side_encryption}};
  for (const auto& [tag, value] : fields) {
    if (!value->empty()) PutRecord(&out, tag, *value);
  }
  for (const auto& [name, value] : meta.user_meta) PutPair(&out, kUserMeta, name, value);
  for (const auto& [name, value] : meta.checksums) PutPair(&out, kChecksum, name, value);
  if (meta.parts_count > 0) PutNumber(&out, kPartsCount, static_cast<uint64_t>(meta.parts_count));
  if (part_number > 0) PutNumber(&out, kPartNumber, static_cast<uint64_t>(part_number));
  if (!meta.part_sizes.empty()) {
    std::string sizes;
    for (uint64_t size : meta.part_sizes) {
      for (int i = 0; i < 8; ++i) sizes.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
    }
    PutRecord(&out, kPartSizes, sizes);
  }
  if (seal != nullptr) PutPair(&out, kSeal, seal->key_id, seal->wrapped_key);
  return out;
}

Status DecodeMeta(std::string_view bytes, ObjectMeta* meta, int* part_number, SealInfo* seal) {
  *meta = ObjectMeta();
  if (part_number != nullptr) *part_number = 0;
  if (seal != nullptr) *seal = SealInfo();
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 5) return Status::Corruption("truncated metadata record");
    auto tag = static_cast<uint8_t>(bytes[pos]);
    uint64_t len = GetLE(bytes, pos + 1, 4);
    pos += 5;
    if (len > bytes.size() - pos) return Status::Corruption("metadata record overruns");
    std::string_view v = bytes.substr(pos, len);
    pos += len;
    auto number = [&]() { return v.size() == 8 ? GetLE(v, 0, 8) : 0; };
    std::string name, value;
    switch (tag) {
      case kKey: meta->key.assign(v); break;
      case kSize: meta->size = number(); break;
      case kEtag: meta->etag.assign(v); break;
      case kLastModifiedNs:
        meta->last_modified = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
            std::chrono::nanoseconds(static_cast<int64_t>(number()))));
        break;
      case kContentType: meta->content_type.assign(v); break;
      case kCacheControl: meta->cache_control.assign(v); break;
      case kContentDisposition: meta->content_disposition.assign(v); break;
      case kContentEncoding: meta->content_encoding.assign(v); break;
      case kContentLanguage: meta->content_language.assign(v); break;
      case kExpires: meta->expires.assign(v); break;
      case kServerSideEncryption:
        meta->server_side_encryption.assign(v);
        break;
      case kSeal:
        if (!SplitPair(v, &name, &value)) return Status::Corruption("bad seal record");
        if (seal != nullptr) *seal = SealInfo{name, value};
        break;
      case kUserMeta:
      case kChecksum:
        if (!SplitPair(v, &name, &value)) return Status::Corruption("bad metadata pair");
        (tag == kUserMeta ? meta->user_meta : meta->checksums)[name] = value;
        break;
      case kPartsCount: meta->parts_count = static_cast<int>(number()); break;
      case kPartNumber:
        if (part_number != nullptr) *part_number = static_cast<int>(number());
        break;
      case kPartSizes:
        if (v.size() % 8 != 0) return Status::Corruption("bad part sizes record");
        meta->part_sizes.clear();
        for (size_t i = 0; i < v.size(); i += 8) meta->part_sizes.push_back(GetLE(v, i, 8));
        break;
      default: break;  // written by a newer version: ignore
    }
  }
  return Status::OK();
}

}  // namespace sparkify::diskstore::internal
