// The on-disk format of every file the disk store keeps for an object, a multipart part or an
// upload: one file holding a header and then the data, so that a reader who opened the file
// holds one whole version. Pure functions plus ReadHeader (one pread); thread-safe.
//
// Layout (integers little-endian):
//   0   8  magic "SPKOBJ\r\n"
//   8   2  format version: 1, or 2 when the data is encrypted at rest (sealing.h), so that a
//          store too old to decrypt it refuses the file rather than serving ciphertext
//   10  2  kind (1 object, 2 part, 3 upload)
//   12  4  meta_len
//   16  8  data_offset (>= 36 + meta_len; the gap is zero padding)
//   24  8  data_len (the file is exactly data_offset + data_len bytes long)
//   32  4  CRC32C of bytes 0..31 followed by the meta bytes
//   36  meta_len bytes of metadata: records of (u8 tag, u32 length, bytes), binary-safe, so a
//       key or header value with any bytes round-trips; unknown tags are skipped.
//   data_offset: the data.
// Small objects are written in one piece (data right after the meta); large ones reserve
// kReservedHeaderBytes so the data can be streamed before the metadata is known.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "diskstore/disk_store.h"
#include "diskstore/internal/sealing.h"

namespace sparkify::diskstore::internal {

enum class FileKind : uint16_t { kObject = 1, kPart = 2, kUpload = 3 };

inline constexpr uint64_t kFixedHeaderBytes = 36;
inline constexpr uint64_t kReservedHeaderBytes = 4096;
inline constexpr uint64_t kMaxMetaBytes = 1 << 20;
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kSealedFormatVersion = 2;

struct FileHeader {
  FileKind kind = FileKind::kObject;
  std::string meta;  // encoded metadata records
  uint64_t data_offset = 0;
  uint64_t data_len = 0;
  bool sealed = false;  // format version 2: the data is encrypted (and meta has a SealInfo)
};

// The fixed header plus the meta bytes. REQUIRES: data_offset >= kFixedHeaderBytes + meta.size().
std::string EncodeHeader(FileKind kind, std::string_view meta, uint64_t data_offset,
                         uint64_t data_len, bool sealed = false);

// Reads and checks the header of an open file: magic, version, CRC, and that the file length is
// exactly data_offset + data_len (so a truncated file is caught). Corruption otherwise.
Result<FileHeader> ReadHeader(int fd, const std::string& path);

// Metadata records. part_number is stored only when > 0 (part files); seal only for sealed
// data. DecodeMeta leaves *seal empty when there is none (seal may be null).
std::string EncodeMeta(const ObjectMeta& meta, int part_number = 0, const SealInfo* seal = nullptr);
Status DecodeMeta(std::string_view bytes, ObjectMeta* meta, int* part_number,
                  SealInfo* seal = nullptr);

}  // namespace sparkify::diskstore::internal
