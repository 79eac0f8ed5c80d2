// Loading a bucket at Open(): bucket.json, then every object file's header into the index.
// Files that fail their checks are logged and moved to quarantine/, never served.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/crypto.h"
#include "diskstore/internal/disk_store_impl.h"

namespace sparkify::diskstore::internal {
namespace {

bool IsObjectFileName(std::string_view name, std::string_view fanout) {
  if (name.size() != 64 || name.substr(0, 2) != fanout) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// What one scanning thread found: the objects it indexed and the files to move aside.
struct ScanOutput {
  KeyIndex index;
  std::vector<std::pair<std::string, Status>> bad;
  Status error;
};

// Scans fan-out directories, taking the next unscanned one from `next` until none is left.
void ScanFanouts(const std::string& objects, const std::vector<std::string>& fanouts,
                 std::atomic<size_t>* next, ScanOutput* out) {
  try {
    for (size_t i = (*next)++; i < fanouts.size(); i = (*next)++) {
      std::string fanout_dir = objects + "/" + fanouts[i];
      if (fanouts[i].size() != 2 || !IsObjectFileName(fanouts[i] + std::string(62, '0'), fanouts[i])) {
        out->bad.emplace_back(fanout_dir, Status::Corruption("not a fan-out directory"));
        continue;
      }
      auto files = ListDir(fanout_dir);
      if (!files.ok()) {
        out->error = files.status();
        return;
      }
      for (const std::string& file : *files) {
        std::string path = fanout_dir + "/" + file;
        if (!IsObjectFileName(file, fanouts[i])) {
          out->bad.emplace_back(path, Status::Corruption("not an object file name"));
          continue;
        }
        auto opened = OpenStoreFile(path, FileKind::kObject);
        if (!opened.ok()) {
          if (opened.status().code() != Status::Code::kCorruption) {
            out->error = opened.status();
            return;
          }
          out->bad.emplace_back(path, opened.status());
        } else if (opened->meta.key.empty() || Sha256Hex(opened->meta.key) != file) {
          out->bad.emplace_back(path, Status::Corruption("key does not hash to the file name"));
        } else {
          out->index.Put(opened->meta);
        }
      }
    }
  } catch (const std::exception& e) {
    out->error = Status::Internal(std::string("scanning ") + objects + ": " + e.what());
  }
}

}  // namespace

Result<OpenedFile> OpenStoreFile(const std::string& path, FileKind kind) {
  OpenedFile f;
  SPARKIFY_ASSIGN_OR_RETURN(f.fd, OpenForRead(path));
  SPARKIFY_ASSIGN_OR_RETURN(f.header, ReadHeader(f.fd.get(), path));
  if (f.header.kind != kind) {
    return Status::Corruption("bad object file " + path + ": unexpected file kind " +
                              std::to_string(static_cast<int>(f.header.kind)));
  }
  Status st = DecodeMeta(f.header.meta, &f.meta, &f.part_number, &f.seal);
  if (!st.ok()) return Status::Corruption("bad object file " + path + ": " + st.message());
  if (f.header.sealed != !f.seal.wrapped_key.empty()) {
    return Status::Corruption(
        "bad object file " + path +
        (f.header.sealed ? ": encrypted without a key record" : ": a key record on plain data"));
  }
  uint64_t stored = f.header.sealed ? SealedSize(f.meta.size) : f.meta.size;
  if (stored != f.header.data_len) {
    return Status::Corruption("bad object file " + path + ": metadata size " +
                              std::to_string(f.meta.size) + " does not fit data length " +
                              std::to_string(f.header.data_len));
  }
  return f;
}

void DiskStoreImpl::Quarantine(const std::string& bucket, const std::string& path,
                               const Status& why) {
  const StoreShared& s = *shared_;
  std::string name = path.substr(path.find_last_of('/') + 1);
  std::string dest = s.quarantine_dir + "/" + bucket + "." + name + "." +
                     std::to_string(ToUnixSeconds(s.Now())) + "." + RandomHexName().substr(0, 8);
  Status st = MakeDir(s.quarantine_dir);
  if (st.ok()) st = RenamePath(path, dest);
  if (st.ok()) {
    spdlog::warn("disk store: skipped {} ({}); moved to {}", path, why.ToString(), dest);
  } else {
    spdlog::warn("disk store: skipped {} ({}); could not move it aside: {}", path, why.ToString(),
                 st.ToString());
  }
}

Result<std::shared_ptr<Bucket>> DiskStoreImpl::LoadBucket(const std::string& name) {
  const StoreShared& s = *shared_;
  std::string dir = s.BucketDir(name);
  auto bucket = std::make_shared<Bucket>();
  bucket->name = name;
  auto doc_text = ReadSmallFile(dir + "/bucket.json");
  if (!doc_text.ok()) {
    if (!doc_text.status().IsNotFound()) return doc_text.status();
    // Buckets are created by renaming a complete directory, so this is not ours.
    Quarantine(name, dir, Status::Corruption("bucket directory without bucket.json"));
    return std::shared_ptr<Bucket>();
  }
  nlohmann::json doc = nlohmann::json::parse(*doc_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("created_unix_ns") ||
      !doc["created_unix_ns"].is_number_integer()) {
    return Status::Corruption("bad bucket document " + dir + "/bucket.json");
  }
  bucket->created = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::nanoseconds(doc["created_unix_ns"].get<int64_t>())));
  for (const char* sub : {"/objects", "/uploads", "/docs"}) {
    SPARKIFY_RETURN_IF_ERROR(MakeDir(dir + sub));
  }

  // The headers are read by a few threads: at 100,000 objects this is most of Open().
  std::string objects = dir + "/objects";
  SPARKIFY_ASSIGN_OR_RETURN(auto fanouts, ListDir(objects));
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  threads = std::min(threads, std::max<size_t>(fanouts.size(), 1));
  std::vector<ScanOutput> outputs(threads);
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) {
    workers.emplace_back(ScanFanouts, std::cref(objects), std::cref(fanouts), &next, &outputs[t]);
  }
  ScanFanouts(objects, fanouts, &next, &outputs[0]);
  for (auto& w : workers) w.join();
  size_t skipped = 0;
  for (ScanOutput& out : outputs) {
    SPARKIFY_RETURN_IF_ERROR(out.error);
    for (const auto& [path, why] : out.bad) Quarantine(name, path, why);
    skipped += out.bad.size();
    bucket->index.MergeFrom(std::move(out.index));
  }
  if (skipped > 0) {
    spdlog::warn("disk store: bucket {}: {} bad files moved aside, {} objects loaded", name,
                 skipped, bucket->index.size());
  }
  return bucket;
}

}  // namespace sparkify::diskstore::internal
