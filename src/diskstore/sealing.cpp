#include "diskstore/internal/sealing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <stdexcept>

#include "common/crypto.h"
#include "diskstore/internal/posix_file.h"

namespace sparkify::diskstore::internal {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr std::string_view kWrapAad = "sparkify sse-s3 data key v1";
constexpr char kStagingSuffix[] = ".new-";

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

EVP_CIPHER_CTX* NewContext() {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  return ctx;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string RecordNonce(uint64_t index) {
  std::string nonce(kNonceBytes, '\0');
  for (int i = 0; i < 8; ++i)
    nonce[kNonceBytes - 1 - i] = static_cast<char>((index >> (8 * i)) & 0xff);
  return nonce;
}

// AES-256-GCM of `plain` under key and nonce; appends ciphertext then tag to *out.
bool GcmSeal(EVP_CIPHER_CTX* ctx, std::string_view key, std::string_view nonce,
             std::string_view aad, std::string_view plain, std::string* out) {
  int len = 0;
  size_t at = out->size();
  out->resize(at + plain.size() + kSealTagBytes);
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + at);
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1) {
    return false;
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!plain.empty() &&
      EVP_EncryptUpdate(ctx, dst, &len, Bytes(plain), static_cast<int>(plain.size())) != 1) {
    return false;
  }
  if (EVP_EncryptFinal_ex(ctx, dst + plain.size(), &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kSealTagBytes, dst + plain.size()) == 1;
}

// The inverse; false when the data does not authenticate.
bool GcmOpen(EVP_CIPHER_CTX* ctx, std::string_view key, std::string_view nonce,
             std::string_view aad, std::string_view sealed, std::string* plain) {
  if (sealed.size() < kSealTagBytes) return false;
  size_t n = sealed.size() - kSealTagBytes;
  plain->resize(n);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1) {
    return false;
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (n > 0 &&
      EVP_DecryptUpdate(ctx, Bytes(*plain), &len, Bytes(sealed), static_cast<int>(n)) != 1) {
    return false;
  }
  std::string tag(sealed.substr(n));
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kSealTagBytes, Bytes(tag)) != 1) return false;
  return EVP_DecryptFinal_ex(ctx, Bytes(*plain) + n, &len) == 1;
}

}  // namespace

uint64_t SealedRecords(uint64_t plain_size) {
  return std::max<uint64_t>(1, (plain_size + kSealRecordBytes - 1) / kSealRecordBytes);
}

uint64_t SealedSize(uint64_t plain_size) {
  return plain_size + SealedRecords(plain_size) * kSealTagBytes;
}

MasterKey::MasterKey(std::string key) : key_(std::move(key)) {
  id_ = HexEncode(Sha256("sparkify sse-s3 key id\n" + key_).substr(0, 8));
}

Result<MasterKey> MasterKey::Parse(std::string_view text, const std::string& path) {
  if (text.size() == 65 && text.back() == '\n') text.remove_suffix(1);
  auto key = text.size() == 2 * kDataKeyBytes ? HexDecode(text) : std::nullopt;
  if (!key) {
    return Status::InvalidArgument("encryption key file " + path +
                                   " must hold 64 hex digits (a 256-bit key)");
  }
  return MasterKey(std::move(*key));
}

MasterKey MasterKey::Generate() { return MasterKey(RandomBytes(kDataKeyBytes)); }

std::string MasterKey::Text() const { return HexEncode(key_) + "\n"; }

std::pair<std::string, SealInfo> MasterKey::NewDataKey() const {
  std::string data_key = RandomBytes(kDataKeyBytes);
  std::string nonce = RandomBytes(kNonceBytes);
  std::string wrapped = nonce;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(NewContext(),
                                                                      EVP_CIPHER_CTX_free);
  if (!GcmSeal(ctx.get(), key_, nonce, kWrapAad, data_key, &wrapped)) {
    throw std::runtime_error("AES-256-GCM failed to wrap a data key");
  }
  return {std::move(data_key), SealInfo{id_, std::move(wrapped)}};
}

Result<std::string> MasterKey::Unwrap(const SealInfo& info, const std::string& path) const {
  if (info.key_id != id_) {
    return Status::FailedPrecondition("object file " + path + " was encrypted under key " +
                                      info.key_id + ", but this store's key is " + id_ +
                                      ": start the store with the key it was written with");
  }
  std::string data_key;
  std::string_view wrapped = info.wrapped_key;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(NewContext(),
                                                                      EVP_CIPHER_CTX_free);
  if (wrapped.size() != kNonceBytes + kDataKeyBytes + kSealTagBytes ||
      !GcmOpen(ctx.get(), key_, wrapped.substr(0, kNonceBytes), kWrapAad,
               wrapped.substr(kNonceBytes), &data_key)) {
    return Status::Corruption("object file " + path + ": its data key does not authenticate");
  }
  return data_key;
}

KeyRing::KeyRing(std::string path, std::string data_dir, std::string tmp_dir, bool fsync)
    : path_(std::move(path)),
      marker_path_(std::move(data_dir) + "/sse-s3.keyid"),
      tmp_dir_(std::move(tmp_dir)),
      fsync_(fsync) {}

std::string KeyRing::KeyDir() const {
  size_t slash = path_.rfind('/');
  return slash == std::string::npos ? std::string(".")
         : slash == 0               ? std::string("/")
                                    : path_.substr(0, slash);
}

Status KeyRing::CheckAtOpen() {
  std::lock_guard lock(mu_);
  const std::string dir = KeyDir();
  if (!PathExists(dir)) {
    return Status::FailedPrecondition("the directory of the encryption key file " + path_ +
                                      " does not exist (a secrets mount not mounted yet?)");
  }
  // Leftovers of a key file being made when the process died: they hold a key never used.
  auto names = ListDir(dir);
  std::string base = path_.substr(path_.rfind('/') + 1) + kStagingSuffix;
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (name.rfind(base, 0) == 0) (void)RemoveFile(dir + "/" + name);
    }
  }
  auto marker = ReadSmallFile(marker_path_);
  if (!marker.ok() && !marker.status().IsNotFound()) return marker.status();
  std::string expected = marker.ok() ? std::string(Trimmed(*marker)) : "";
  if (!PathExists(path_)) {
    if (expected.empty()) return Status::OK();  // nothing encrypted yet: made when needed
    return Status::FailedPrecondition(
        "this data dir holds objects encrypted under key " + expected + ", but the key file " +
        path_ + " is missing: restore it, or point --encryption-key-file at it");
  }
  SPARKIFY_ASSIGN_OR_RETURN(auto key, LoadLocked(/*create=*/false));
  if (!expected.empty() && key->id() != expected) {
    return Status::FailedPrecondition("this data dir holds objects encrypted under key " +
                                      expected + ", but the key file " + path_ + " holds key " +
                                      key->id() + ": use the key they were written with");
  }
  return Status::OK();
}

Result<std::shared_ptr<const MasterKey>> KeyRing::GetOrCreate() {
  std::lock_guard lock(mu_);
  SPARKIFY_ASSIGN_OR_RETURN(auto key, LoadLocked(/*create=*/true));
  if (!marker_written_) {
    // The data dir remembers which key its objects need, so that a later start without it
    // (or with another) is refused instead of making a new key beside the old objects.
    auto marker = ReadSmallFile(marker_path_);
    if (!marker.ok() || Trimmed(*marker) != key->id()) {
      std::string dir = marker_path_.substr(0, marker_path_.rfind('/'));
      SPARKIFY_RETURN_IF_ERROR(
          WriteFileAtomic(tmp_dir_, marker_path_, dir, key->id() + "\n", fsync_));
    }
    marker_written_ = true;
  }
  return key;
}

Result<std::shared_ptr<const MasterKey>> KeyRing::Get() {
  std::lock_guard lock(mu_);
  return LoadLocked(/*create=*/false);
}

Result<std::shared_ptr<const MasterKey>> KeyRing::LoadLocked(bool create) {
  if (key_) return key_;
  auto text = ReadSmallFile(path_);
  if (text.ok()) {
    auto key = MasterKey::Parse(*text, path_);
    if (!key.ok()) return Status::FailedPrecondition(key.status().message());
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      spdlog::warn(
          "disk store: the encryption key file {} is readable by other users "
          "(mode {:o}); chmod 600 it",
          path_, st.st_mode & 0777);
    }
    key_ = std::make_shared<const MasterKey>(std::move(key).value());
    return key_;
  }
  if (!text.status().IsNotFound()) {
    return Status::IOError("cannot read the encryption key file " + path_ + ": " +
                           text.status().message());
  }
  if (!create) {
    return Status::FailedPrecondition("the encryption key file " + path_ +
                                      " is missing: encrypted objects cannot be read");
  }
  Status made = CreateKeyFileLocked();
  if (!made.ok()) {
    // Never NotFound (a missing directory): that would read as a missing object or upload.
    return Status::IOError("cannot create the encryption key file " + path_ + ": " +
                           made.message());
  }
  return LoadLocked(/*create=*/false);
}

// Writes a new key to a staging file beside the key file (same file system, 0600) and links
// it into place, which fails if a key appeared meanwhile (another store sharing the file):
// a key once made never changes. File systems without hard links get an O_EXCL create.
Status KeyRing::CreateKeyFileLocked() {
  const std::string dir = KeyDir();
  const std::string text = MasterKey::Generate().Text();
  const std::string staging = path_ + kStagingSuffix + RandomHexName();
  {
    SPARKIFY_ASSIGN_OR_RETURN(UniqueFd fd, CreateExclusive(staging));
    Status st = WriteAll(fd.get(), text, staging);
    if (st.ok() && fsync_) st = SyncFd(fd.get(), staging);
    if (!st.ok()) {
      (void)RemoveFile(staging);
      return st;
    }
  }
  int linked = ::link(staging.c_str(), path_.c_str());
  int link_errno = errno;
  (void)RemoveFile(staging);
  if (linked != 0 && (link_errno == EPERM || link_errno == EOPNOTSUPP || link_errno == ENOSYS)) {
    auto fd = CreateExclusive(path_);
    if (!fd.ok()) return PathExists(path_) ? Status::OK() : fd.status();  // lost a race
    Status st = WriteAll(fd->get(), text, path_);
    if (st.ok() && fsync_) st = SyncFd(fd->get(), path_);
    if (!st.ok()) (void)RemoveFile(path_);
    SPARKIFY_RETURN_IF_ERROR(st);
  } else if (linked != 0 && link_errno != EEXIST) {
    return Status::IOError(std::strerror(link_errno));
  }
  return fsync_ ? SyncDir(dir) : Status::OK();
}

MasterKey::~MasterKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

Sealer::Sealer(std::string data_key) : key_(std::move(data_key)), ctx_(NewContext()) {
  pending_.reserve(kSealRecordBytes);
}

Sealer::~Sealer() {
  EVP_CIPHER_CTX_free(ctx_);
  OPENSSL_cleanse(key_.data(), key_.size());
  OPENSSL_cleanse(pending_.data(), pending_.size());
}

Status Sealer::Append(std::string_view plain, const Sink& sink) {
  if (finished_) return Status::FailedPrecondition("Sealer: append after Finish()");
  plain_size_ += plain.size();
  while (!plain.empty()) {
    size_t take = std::min<size_t>(plain.size(), kSealRecordBytes - pending_.size());
    pending_.append(plain.substr(0, take));
    plain.remove_prefix(take);
    // A full record is sealed only once more data follows: the last one carries the flag.
    if (pending_.size() == kSealRecordBytes && !plain.empty()) {
      SPARKIFY_RETURN_IF_ERROR(SealRecord(/*last=*/false, sink));
    }
  }
  return Status::OK();
}

Status Sealer::Finish(const Sink& sink) {
  if (finished_) return Status::FailedPrecondition("Sealer: Finish() called twice");
  finished_ = true;
  return SealRecord(/*last=*/true, sink);
}

Status Sealer::SealRecord(bool last, const Sink& sink) {
  sealed_.clear();
  const char flag = last ? 1 : 0;
  if (!GcmSeal(ctx_, key_, RecordNonce(next_record_), std::string_view(&flag, 1), pending_,
               &sealed_)) {
    return Status::Internal("AES-256-GCM failed to seal a record");
  }
  ++next_record_;
  pending_.clear();
  return sink(sealed_);
}

Unsealer::Unsealer(std::string data_key, uint64_t plain_size)
    : key_(std::move(data_key)), ctx_(NewContext()), plain_size_(plain_size) {}

Unsealer::~Unsealer() {
  EVP_CIPHER_CTX_free(ctx_);
  OPENSSL_cleanse(key_.data(), key_.size());
}

uint64_t Unsealer::SealedRecordBytes(uint64_t index) const {
  uint64_t start = index * kSealRecordBytes;
  uint64_t plain = start >= plain_size_ ? 0 : std::min(kSealRecordBytes, plain_size_ - start);
  return plain + kSealTagBytes;
}

Status Unsealer::Open(uint64_t index, std::string_view sealed, std::string* plain,
                      const std::string& path) {
  const char flag = index + 1 == SealedRecords(plain_size_) ? 1 : 0;
  if (sealed.size() != SealedRecordBytes(index) ||
      !GcmOpen(ctx_, key_, RecordNonce(index), std::string_view(&flag, 1), sealed, plain)) {
    return Status::Corruption("object file " + path + ": encrypted record " +
                              std::to_string(index) + " does not authenticate");
  }
  return Status::OK();
}

}  // namespace sparkify::diskstore::internal
