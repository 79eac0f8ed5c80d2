#include "diskstore/internal/staged_file.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <utility>

#include "common/crypto.h"

namespace sparkify::diskstore::internal {

RunningMd5::RunningMd5() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1) throw std::bad_alloc();
}

RunningMd5::~RunningMd5() { EVP_MD_CTX_free(ctx_); }

void RunningMd5::Update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::string RunningMd5::Raw() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = copy != nullptr && EVP_MD_CTX_copy_ex(copy, ctx_) == 1 &&
            EVP_DigestFinal_ex(copy, out, &len) == 1;
  EVP_MD_CTX_free(copy);
  if (!ok) throw std::bad_alloc();
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string RunningMd5::Hex() const { return HexEncode(Raw()); }

StagedFile::StagedFile(std::string tmp_dir, bool sync, uint64_t reserve)
    : tmp_dir_(std::move(tmp_dir)), sync_(sync), reserve_(reserve) {}

StagedFile::~StagedFile() { Discard(); }

void StagedFile::Discard() {
  fd_.Reset();
  if (!path_.empty() && !published_) (void)RemoveFile(path_);
  path_.clear();
  std::string().swap(buffer_);
  finished_ = true;
}

Status StagedFile::SpillToFile() {
  path_ = tmp_dir_ + "/" + RandomHexName() + ".tmp";
  SPARKIFY_ASSIGN_OR_RETURN(fd_, CreateExclusive(path_));
  // Leave room for the header; the data streams in after it.
  if (::lseek(fd_.get(), static_cast<off_t>(kReservedHeaderBytes), SEEK_SET) < 0) {
    return ErrnoStatus(errno, "cannot seek in", path_);
  }
  spilled_ = true;
  Status st = WriteAll(fd_.get(), buffer_, path_);
  std::string().swap(buffer_);
  return st;
}

Status StagedFile::Append(std::string_view data) {
  if (finished_) return Status::FailedPrecondition("append after the object was committed");
  if (!spilled_ && buffer_.size() + data.size() <= kInlineBytes) {
    buffer_.append(data);
  } else {
    SPARKIFY_RETURN_IF_ERROR(CheckFreeSpace(tmp_dir_, buffer_.size() + data.size(), reserve_));
    if (!spilled_) SPARKIFY_RETURN_IF_ERROR(SpillToFile());
    SPARKIFY_RETURN_IF_ERROR(WriteAll(fd_.get(), data, path_));
  }
  size_ += data.size();
  return Status::OK();
}

Status StagedFile::AppendFrom(int fd, uint64_t offset, uint64_t len,
                              const std::string& source_path) {
  if (finished_) return Status::FailedPrecondition("append after the object was committed");
  if (!spilled_ && buffer_.size() + len <= kInlineBytes) {
    size_t old = buffer_.size();
    buffer_.resize(old + len);
    SPARKIFY_ASSIGN_OR_RETURN(size_t got,
                              PReadFull(fd, buffer_.data() + old, len, offset, source_path));
    if (got != len) return Status::Corruption("unexpected end of " + source_path);
  } else {
    SPARKIFY_RETURN_IF_ERROR(CheckFreeSpace(tmp_dir_, buffer_.size() + len, reserve_));
    if (!spilled_) SPARKIFY_RETURN_IF_ERROR(SpillToFile());
    SPARKIFY_RETURN_IF_ERROR(CopyRange(fd, offset, fd_.get(), len, path_));
  }
  size_ += len;
  return Status::OK();
}

Status StagedFile::Finish(FileKind kind, std::string_view meta, bool sealed) {
  if (finished_) return Status::FailedPrecondition("object already committed");
  finished_ = true;
  if (!spilled_) {
    // Small: header and data in one write.
    SPARKIFY_RETURN_IF_ERROR(
        CheckFreeSpace(tmp_dir_, kFixedHeaderBytes + meta.size() + size_, reserve_));
    path_ = tmp_dir_ + "/" + RandomHexName() + ".tmp";
    SPARKIFY_ASSIGN_OR_RETURN(fd_, CreateExclusive(path_));
    std::string all = EncodeHeader(kind, meta, kFixedHeaderBytes + meta.size(), size_, sealed);
    all += buffer_;
    std::string().swap(buffer_);
    SPARKIFY_RETURN_IF_ERROR(WriteAll(fd_.get(), all, path_));
  } else {
    std::string header = EncodeHeader(kind, meta, kReservedHeaderBytes, size_, sealed);
    if (header.size() <= kReservedHeaderBytes) {
      SPARKIFY_RETURN_IF_ERROR(PWriteAll(fd_.get(), header, 0, path_));
    } else {
      // Metadata larger than the reserved room: rewrite with the data further back.
      std::string new_path = tmp_dir_ + "/" + RandomHexName() + ".tmp";
      SPARKIFY_ASSIGN_OR_RETURN(UniqueFd new_fd, CreateExclusive(new_path));
      header = EncodeHeader(kind, meta, kFixedHeaderBytes + meta.size(), size_, sealed);
      Status st = WriteAll(new_fd.get(), header, new_path);
      if (st.ok()) st = CopyRange(fd_.get(), kReservedHeaderBytes, new_fd.get(), size_, new_path);
      if (!st.ok()) {
        new_fd.Reset();
        (void)RemoveFile(new_path);
        return st;
      }
      fd_ = std::move(new_fd);
      (void)RemoveFile(path_);
      path_ = new_path;
    }
  }
  if (sync_) SPARKIFY_RETURN_IF_ERROR(SyncFd(fd_.get(), path_));
  fd_.Reset();
  return Status::OK();
}

}  // namespace sparkify::diskstore::internal
