// Tests only: the store in-process (DiskStore + IdentityStore + S3Service on a real
// http::Server on an ephemeral loopback port, data in a fresh temporary directory), for
// tests of clients that need a real S3 endpoint. Header-only; link sparkify_store.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/crypto.h"
#include "common/status.h"
#include "diskstore/disk_store.h"
#include "http/http.h"
#include "iam/identity.h"
#include "s3client/s3client.h"
#include "store/s3_service.h"

namespace sparkify::store {

class InProcessStore {
 public:
  static inline const sigv4::Credentials kRoot{"ROOTKEY", "root-secret-for-tests", ""};

  // Starts it; check status() before use.
  InProcessStore() {
    dir_ = std::filesystem::temp_directory_path() / ("sparkify-store-" + HexEncode(RandomBytes(6)));
    diskstore::DiskStoreOptions disk_opts;
    disk_opts.data_dir = dir_.string();
    auto disk = diskstore::DiskStore::Open(disk_opts);
    if (!disk.ok()) {
      status_ = disk.status();
      return;
    }
    disk_ = std::move(*disk);
    auto ids = iam::IdentityStore::Open(dir_.string(), kRoot);
    if (!ids.ok()) {
      status_ = ids.status();
      return;
    }
    ids_ = std::move(*ids);
    service_ = std::make_unique<S3Service>(disk_.get(), ids_.get(), S3ServiceOptions{});
    http::ServerOptions http_opts;
    http_opts.render_error = &S3Service::RenderServerError;
    auto server =
        http::Server::Start(http_opts, [this](http::Request& r) { return service_->Handle(r); });
    if (!server.ok()) {
      status_ = server.status();
      return;
    }
    server_ = std::move(*server);
    endpoint_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~InProcessStore() {
    if (server_) server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  InProcessStore(const InProcessStore&) = delete;
  InProcessStore& operator=(const InProcessStore&) = delete;

  const Status& status() const { return status_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::filesystem::path& dir() const { return dir_; }
  diskstore::DiskStore* disk() { return disk_.get(); }
  iam::IdentityStore* identities() { return ids_.get(); }

  // A path-style client of this store with `creds` (default: the root key).
  s3client::S3Client Client(sigv4::Credentials creds = kRoot) const {
    s3client::ClientOptions o;
    o.endpoint = endpoint_;
    o.addressing = s3client::Addressing::kPath;
    o.credentials = std::move(creds);
    return s3client::S3Client(o);
  }

 private:
  Status status_;
  std::filesystem::path dir_;
  std::unique_ptr<diskstore::DiskStore> disk_;
  std::unique_ptr<iam::IdentityStore> ids_;
  std::unique_ptr<S3Service> service_;
  std::unique_ptr<http::Server> server_;
  std::string endpoint_;
};

}  // namespace sparkify::store
