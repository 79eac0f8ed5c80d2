// Encryption at rest (SSE-S3): how the disk store seals the data of an object, part or upload
// file. Envelope encryption, all AES-256-GCM (OpenSSL):
//   - The store's master key (32 random bytes, a 0600 file of 64 hex digits) wraps one fresh
//     random data key per file: wrapped = nonce(12) || GCM(master, data key, AAD kWrapAad) ||
//     tag(16). The file's metadata keeps the wrapped key and the master key's id (the first
//     8 bytes of SHA-256 of the key, in hex), so a store started with another key says so.
//   - The data is cut into records of kSealRecordBytes of plaintext (the last one shorter,
//     possibly empty: an empty object is one empty record). Record i is stored as
//     GCM(data key, nonce = 96-bit big-endian i, AAD = 1 byte: 1 for the last record, else 0)
//     followed by its 16-byte tag. A data key seals one file only, so nonces never repeat
//     under a key; the index in the nonce stops records from moving, and the last-record flag
//     stops a file from being cut short at a record boundary.
// A reader decrypts only the records a range touches, so Range and partNumber reads cost one
// record more at most. Metadata (content type, user metadata) is not encrypted, as in S3.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace sparkify::diskstore::internal {

inline constexpr uint64_t kSealRecordBytes = 64 * 1024;
inline constexpr uint64_t kSealTagBytes = 16;
inline constexpr size_t kDataKeyBytes = 32;

// Stored bytes of `plain_size` bytes of sealed data.
uint64_t SealedSize(uint64_t plain_size);
// Records of a sealed file of `plain_size` bytes (at least 1).
uint64_t SealedRecords(uint64_t plain_size);

// What a sealed file's metadata records about its key.
struct SealInfo {
  std::string key_id;       // the master key's id
  std::string wrapped_key;  // the data key, wrapped by the master key
};

class MasterKey {
 public:
  ~MasterKey();  // wipes the key
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  // Parses the key file's text: 64 hex digits, optionally followed by a newline.
  static Result<MasterKey> Parse(std::string_view text, const std::string& path);
  static MasterKey Generate();
  // The key file's text.
  std::string Text() const;

  const std::string& id() const { return id_; }
  // A fresh data key and its SealInfo.
  std::pair<std::string, SealInfo> NewDataKey() const;
  // The data key of a sealed file; FailedPrecondition when it was sealed under another master
  // key, Corruption when the wrapped key does not authenticate.
  Result<std::string> Unwrap(const SealInfo& info, const std::string& path) const;

 private:
  explicit MasterKey(std::string key);
  std::string key_;
  std::string id_;
};

// The master key of a data dir, created at the first sealed write. The data dir's
// sse-s3.keyid then names the key its objects need, so that a store started without it, or
// with another, is refused at open rather than making a new key beside the old objects.
// Thread-safe.
class KeyRing {
 public:
  // `path`: the key file (made 0600 in its directory, which must exist); `data_dir` holds
  // the key id marker, `tmp_dir` stages it.
  KeyRing(std::string path, std::string data_dir, std::string tmp_dir, bool fsync);
  // At open: the key file's directory exists; a key file that exists parses; the key the
  // data dir's objects need (the marker) is the key file's. FailedPrecondition otherwise,
  // with what to do. Removes what a key creation cut short left behind.
  Status CheckAtOpen();
  // The key, creating the file if there is none yet (never NotFound).
  Result<std::shared_ptr<const MasterKey>> GetOrCreate();
  // The key; FailedPrecondition when there is no key file (sealed data cannot be read).
  Result<std::shared_ptr<const MasterKey>> Get();

 private:
  Result<std::shared_ptr<const MasterKey>> LoadLocked(bool create);
  Status CreateKeyFileLocked();
  std::string KeyDir() const;

  std::string path_;
  std::string marker_path_;
  std::string tmp_dir_;
  bool fsync_;
  std::mutex mu_;
  std::shared_ptr<const MasterKey> key_;  // guarded by mu_
  bool marker_written_ = false;           // guarded by mu_
};

// Seals a stream of plaintext into records. Not thread-safe.
class Sealer {
 public:
  using Sink = std::function<Status(std::string_view sealed)>;
  explicit Sealer(std::string data_key);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Buffers `plain`; each full record goes to `sink`, sealed.
  Status Append(std::string_view plain, const Sink& sink);
  // Seals what is left as the last record. Once only; nothing may be appended after.
  Status Finish(const Sink& sink);
  uint64_t plain_size() const { return plain_size_; }

 private:
  Status SealRecord(bool last, const Sink& sink);

  std::string key_;
  EVP_CIPHER_CTX* ctx_;
  std::string pending_;  // plaintext of the record being filled
  std::string sealed_;   // scratch
  uint64_t plain_size_ = 0;
  uint64_t next_record_ = 0;
  bool finished_ = false;
};

// Opens the records of one sealed file. Not thread-safe.
class Unsealer {
 public:
  Unsealer(std::string data_key, uint64_t plain_size);
  ~Unsealer();
  Unsealer(const Unsealer&) = delete;
  Unsealer& operator=(const Unsealer&) = delete;

  // Where record `index` starts in the stored data, and its stored length.
  uint64_t RecordOffset(uint64_t index) const { return index * (kSealRecordBytes + kSealTagBytes); }
  uint64_t SealedRecordBytes(uint64_t index) const;
  // Decrypts and authenticates record `index`; Corruption when it does not authenticate.
  Status Open(uint64_t index, std::string_view sealed, std::string* plain, const std::string& path);

 private:
  std::string key_;
  EVP_CIPHER_CTX* ctx_;
  uint64_t plain_size_;
};

}  // namespace sparkify::diskstore::internal
